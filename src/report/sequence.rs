//! The message sequence (space-time) diagram of a short window of a run, read from its trace:
//! one vertical lane per node and one for all clients, time flowing down, an arrow per message
//! from (sender, send time) to (receiver, arrival time) labelled with the message's name, a
//! cross where a message was lost. For a failed run the window holds what the failed check
//! names (see [`Focus`]): the violation is a red line, the times the check names are dashed.
//! Labels that would overprint another are moved along their arrow or left out.

use super::figure::{
    builder, legend, text_size, window_colour, DrawResult, Figure, LabelSpace, FONT,
};
use super::focus::Focus;
use super::trace::{for_each_record, TraceEvent, TraceRecord};
use super::windows::{FaultWindow, WindowClass};
use super::ReportError;
use crate::engine::{format_nanos, parse_duration, Nanos, MICROSECOND, MILLISECOND};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// Length of the default window.
pub const SEQUENCE_WINDOW_NS: Nanos = 50 * MILLISECOND;
/// Most messages drawn; the picture says when it shows fewer than the window holds (for a
/// failed run, those nearest the times the check names).
pub const SEQUENCE_MESSAGES_MAX: usize = 400;
/// Environment variable that picks the window, e.g. `SIM_REPORT_WINDOW=3s..3.05s`.
pub const WINDOW_ENV: &str = "SIM_REPORT_WINDOW";

/// Parses a window written `FROM..TO` with durations (`3s..3.05s`, `120ms..170ms`).
pub fn parse_window(text: &str) -> Result<(Nanos, Nanos), String> {
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}`: write a window as FROM..TO, e.g. 3s..3.05s"))?;
    let (from_ns, to_ns) = (parse_duration(from)?, parse_duration(to)?);
    if to_ns <= from_ns {
        return Err(format!("`{text}`: the window ends before it starts"));
    }
    Ok((from_ns, to_ns))
}

/// The window of a run without a failure: [`SEQUENCE_WINDOW_NS`] from its first fault, else
/// from the start of the run. (A failed run's window is [`Focus::window`].)
pub fn default_window(windows: &[FaultWindow]) -> (Nanos, Nanos) {
    match windows.first() {
        Some(w) => (w.start_ns, w.start_ns + SEQUENCE_WINDOW_NS),
        None => (0, SEQUENCE_WINDOW_NS),
    }
}

/// A message in the window.
#[derive(Clone, Debug)]
struct Message {
    /// Sending host (hosts `>= nodes` are clients).
    from: u32,
    /// Receiving host.
    to: u32,
    send_ns: Nanos,
    arrive_ns: Option<Nanos>,
    /// Lost on sending (no arrival) or in flight (at its arrival).
    lost: bool,
    name: String,
}

/// Something that happened on a lane (or to the whole cluster, `lane: None`).
#[derive(Clone, Debug)]
struct Mark {
    t: Nanos,
    lane: Option<u32>,
    /// Empty for a mark whose label another element already shows (a fault's window).
    label: String,
    colour: RGBColor,
    /// At a time the failed check names (a fact it cites as evidence).
    named: bool,
}

/// The diagram of one window of one run.
pub struct SequenceDiagram {
    title: String,
    from_ns: Nanos,
    to_ns: Nanos,
    nodes: u32,
    messages: Vec<Message>,
    messages_in_window: usize,
    marks: Vec<Mark>,
    windows: Vec<FaultWindow>,
    focus: Option<Focus>,
}

/// The colour of what the failed check names, and of the violation.
const NAMED: RGBColor = RGBColor(230, 120, 0);
const VIOLATION: RGBColor = RGBColor(214, 39, 40);

impl SequenceDiagram {
    /// Reads the records of `trace` in `[from_ns, to_ns]`; `windows` are the run's faults and
    /// `focus` what its failed check names, if one failed.
    pub fn read(
        name: &str,
        trace: &Path,
        nodes: u32,
        (from_ns, to_ns): (Nanos, Nanos),
        windows: &[FaultWindow],
        focus: Option<&Focus>,
    ) -> Result<Self, ReportError> {
        assert!(from_ns < to_ns, "an empty sequence window");
        let mut messages = Vec::new();
        let mut lost_in_flight: BTreeSet<(u32, u32, Nanos)> = BTreeSet::new();
        let mut marks = Vec::new();
        for_each_record(trace, |r: TraceRecord| {
            if r.t < from_ns || r.t > to_ns {
                return;
            }
            match &r.event {
                TraceEvent::Send { from, to, name, arrive, drop, .. } => messages.push(Message {
                    from: *from,
                    to: *to,
                    send_ns: r.t,
                    arrive_ns: *arrive,
                    lost: drop.is_some(),
                    name: name.clone(),
                }),
                TraceEvent::Drop { from, to, .. } => {
                    lost_in_flight.insert((*from, *to, r.t));
                }
                _ => marks.extend(mark_of(&r, nodes, windows, focus)),
            }
        })?;
        // Lost in flight: the sender's record names the arrival time the drop record has.
        for m in messages.iter_mut().filter(|m| !m.lost) {
            m.lost = lost_in_flight.contains(&(m.from, m.to, m.arrive_ns.unwrap_or(0)));
        }
        let messages_in_window = messages.len();
        if let (Some(focus), true) = (focus, messages.len() > SEQUENCE_MESSAGES_MAX) {
            // Too many to draw: keep those nearest the times the check names.
            let distance = |m: &Message| {
                let ends = [Some(m.send_ns), m.arrive_ns];
                let pairs =
                    focus.named_ns.iter().flat_map(|&n| ends.map(|e| e.map(|e| e.abs_diff(n))));
                pairs.flatten().min().unwrap_or(Nanos::MAX)
            };
            messages.sort_by_key(|m| (distance(m), m.send_ns, m.from, m.to));
        } else {
            messages.sort_by_key(|m| (m.send_ns, m.from, m.to));
        }
        messages.truncate(SEQUENCE_MESSAGES_MAX);
        messages.sort_by_key(|m| (m.send_ns, m.from, m.to));
        let windows = windows.iter().filter(|w| w.overlaps(from_ns, to_ns)).cloned().collect();
        let title = format!("{name}: messages {}..{}", format_nanos(from_ns), format_nanos(to_ns));
        Ok(SequenceDiagram {
            title,
            from_ns,
            to_ns,
            nodes,
            messages,
            messages_in_window,
            marks,
            windows,
            focus: focus.cloned(),
        })
    }
}

/// A fact's label: its name and the log entry (`index@tTERM`) or term it is about, read from
/// its serialised fields so that any system's facts get one.
fn fact_label(name: &str, fields: &serde_json::Value) -> String {
    let short = name.strip_prefix("log_").unwrap_or(name);
    match (fields["index"].as_u64(), fields["term"].as_u64()) {
        (Some(index), Some(term)) => format!("{short} {index}@t{term}"),
        (Some(index), None) => format!("{short} {index}"),
        (None, Some(term)) => format!("{short} t{term}"),
        (None, None) => short.to_string(),
    }
}

fn mark_of(
    r: &TraceRecord,
    nodes: u32,
    windows: &[FaultWindow],
    focus: Option<&Focus>,
) -> Option<Mark> {
    const GREEN: RGBColor = RGBColor(46, 160, 67);
    let (lane, label, colour) = match &r.event {
        TraceEvent::Boot { node } => (Some(*node), "boot".to_string(), GREEN),
        TraceEvent::Fault { fault, .. } => {
            // A fault that opens a window is labelled by its window; a repair by its mark.
            match windows.iter().find(|w| w.start_ns == r.t && w.label == *fault) {
                Some(w) => (None, String::new(), window_colour(w.class)),
                None => (None, fault.clone(), GREEN),
            }
        }
        TraceEvent::QuietStart => (None, "quiet period".to_string(), GREEN),
        TraceEvent::Control { action } => (None, action.clone(), RGBColor(130, 60, 160)),
        TraceEvent::Fact { node, fact, .. } => {
            let fields = serde_json::to_value(fact).unwrap_or_default();
            (Some(*node), fact_label(fact.name(), &fields), RGBColor(90, 90, 90))
        }
        _ => return None,
    };
    // Checkers name times to the microsecond, cut (not rounded).
    let named = matches!(r.event, TraceEvent::Fact { .. })
        && focus.is_some_and(|f| f.named_ns.iter().any(|&n| n <= r.t && r.t < n + MICROSECOND));
    let colour = if named { NAMED } else { colour };
    Some(Mark { t: r.t, lane: lane.map(|l| l.min(nodes)), label, colour, named })
}

/// Colours of message kinds: between nodes, client requests, replies to clients, lost.
const PEER: RGBColor = RGBColor(40, 90, 180);
const REQUEST: RGBColor = RGBColor(130, 60, 160);
const REPLY: RGBColor = RGBColor(0, 140, 140);
const LOST: RGBColor = RGBColor(214, 39, 40);

impl SequenceDiagram {
    /// y coordinate of time `t`: milliseconds after the window start, negated (time flows down).
    fn y(&self, t: Nanos) -> f64 {
        -((t.clamp(self.from_ns, self.to_ns) - self.from_ns) as f64 / 1e6)
    }

    fn len_ms(&self) -> f64 {
        (self.to_ns - self.from_ns) as f64 / 1e6
    }

    fn in_window(&self, t: Nanos) -> bool {
        self.from_ns <= t && t <= self.to_ns
    }

    fn kind_colour(&self, m: &Message) -> RGBColor {
        match (m.lost, m.from >= self.nodes, m.to >= self.nodes) {
            (true, _, _) => LOST,
            (false, true, _) => REQUEST,
            (false, _, true) => REPLY,
            _ => PEER,
        }
    }

    /// The end point of a message's line, and whether it ends with an arrowhead.
    fn end_of(&self, m: &Message) -> ((f64, f64), bool) {
        let start = self.start_of(m);
        let dx = self.lane_x(m.to) - start.0;
        match m.arrive_ns {
            None => ((start.0 + 0.35 * dx, start.1 - 0.01 * self.len_ms()), false),
            Some(a) if a > self.to_ns => {
                // Arrives after the window: cut the line at the window's end.
                let f = (self.to_ns - m.send_ns) as f64 / (a - m.send_ns) as f64;
                ((start.0 + f * dx, self.y(self.to_ns)), false)
            }
            Some(a) => ((self.lane_x(m.to), self.y(a)), !m.lost),
        }
    }

    /// x coordinate of a host's lane: its own for a node, the shared one for clients.
    fn lane_x(&self, host: u32) -> f64 {
        f64::from(host.min(self.nodes))
    }

    fn start_of(&self, m: &Message) -> (f64, f64) {
        (self.lane_x(m.from), self.y(m.send_ns))
    }

    fn right(&self) -> f64 {
        f64::from(self.nodes) + 0.4
    }
}

type SeqChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A label waiting to be drawn: text, top-left corner and size in pixels, font size, colour.
struct Label {
    text: String,
    at: (i32, i32),
    box_px: (i32, i32),
    size: u32,
    colour: RGBColor,
}

/// Places labels where they overprint nothing placed before, trying each candidate position.
struct Placer<'a, DB: DrawingBackend> {
    root: &'a DrawingArea<DB, Shift>,
    space: LabelSpace,
    labels: Vec<Label>,
}

impl<DB: DrawingBackend> Placer<'_, DB>
where
    DB::ErrorType: 'static,
{
    /// Places `text` at the first free candidate; `at` maps the text's size to candidate
    /// top-left corners. Returns whether it was placed.
    fn place(
        &mut self,
        text: &str,
        size: u32,
        colour: RGBColor,
        at: impl Fn(i32, i32) -> Vec<(i32, i32)>,
    ) -> Result<bool, Box<dyn std::error::Error>> {
        if text.is_empty() {
            return Ok(true);
        }
        let (w, h) = text_size(self.root, text, &(FONT, size).into_font().into())?;
        for (x, y) in at(w, h) {
            if self.space.take(x, y, w, h, 1) {
                let text = text.to_string();
                self.labels.push(Label { text, at: (x, y), box_px: (w, h), size, colour });
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn draw(self) -> DrawResult {
        for l in self.labels {
            // A light ground keeps a label readable over the lines it crosses.
            let (x, y) = l.at;
            let ground = [(x - 1, y), (x + l.box_px.0 + 1, y + l.box_px.1)];
            self.root.draw(&Rectangle::new(ground, WHITE.mix(0.75).filled()))?;
            let style = (FONT, l.size).into_font().color(&l.colour);
            self.root.draw(&Text::new(l.text, l.at, style))?;
        }
        Ok(())
    }
}

impl Figure for SequenceDiagram {
    fn size_px(&self) -> (u32, u32) {
        (1200, 1000)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let lanes = self.nodes + 1;
        let capped = match (self.messages_in_window > self.messages.len(), &self.focus) {
            (true, Some(_)) => format!(
                " ({} of {} messages shown: those nearest the named times)",
                self.messages.len(),
                self.messages_in_window
            ),
            (true, None) => {
                format!(" (first {} of {} shown)", self.messages.len(), self.messages_in_window)
            }
            (false, _) => format!(" ({} messages)", self.messages.len()),
        };
        let x_range = -0.6..f64::from(lanes) - 0.4;
        let from_ms = self.from_ns as f64 / 1e6;
        let mut chart = builder(root, &format!("{}{capped}", self.title))
            .top_x_label_area_size(28)
            .build_cartesian_2d(x_range, -self.len_ms()..0.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .y_desc("virtual time (ms), flowing down")
            .y_label_formatter(&|y| format!("{:.1}", from_ms - y))
            .axis_desc_style((FONT, 16))
            .draw()?;
        let mut placer = Placer { root, space: LabelSpace::default(), labels: Vec::new() };
        self.block_fixed(&chart, &mut placer)?;
        self.draw_lanes(root, &mut chart)?;
        self.draw_windows(&mut chart)?;
        self.draw_messages(root, &mut chart)?;
        self.draw_marks(&mut chart)?;
        self.draw_focus(&mut chart)?;
        // Labels in order of importance: what the check names, faults, messages, the rest.
        self.label_focus(&chart, &mut placer)?;
        self.label_marks(&chart, &mut placer, true)?;
        self.label_windows(&chart, &mut placer)?;
        self.label_messages(&chart, &mut placer)?;
        self.label_marks(&chart, &mut placer, false)?;
        placer.draw()?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

impl SequenceDiagram {
    /// Keeps labels off the legend's corner (lower right of the plot) and off the marks' dots.
    fn block_fixed<DB>(&self, chart: &SeqChart<'_, DB>, placer: &mut Placer<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        // The violation's line and the named times' stay clear of labels other than theirs.
        let (xs, _) = chart.plotting_area().get_pixel_range();
        for &t in self.focus.iter().flat_map(|f| &f.named_ns).filter(|&&t| self.in_window(t)) {
            let y = chart.backend_coord(&(0.0, self.y(t))).1;
            placer.space.block(xs.start, y - 1, xs.end - xs.start, 2);
        }
        for mark in &self.marks {
            if let Some(lane) = mark.lane {
                let (x, y) = chart.backend_coord(&(f64::from(lane), self.y(mark.t)));
                let r = if mark.named { 7 } else { 5 };
                placer.space.block(x - r, y - r, 2 * r, 2 * r);
            }
        }
        let mut entries = 4 + self.focus.as_ref().map_or(0, |_| 2);
        entries +=
            WindowClass::ALL.iter().filter(|c| self.windows.iter().any(|w| w.class == **c)).count();
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let (w, h) = (190, 22 * entries as i32 + 16);
        placer.space.block(xs.end - w - 10, ys.end - h - 10, w + 10, h + 10);
        Ok(())
    }

    fn draw_lanes<DB>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut SeqChart<'_, DB>,
    ) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let bottom = -self.len_ms();
        for lane in 0..=self.nodes {
            let x = f64::from(lane);
            let line = PathElement::new(vec![(x, 0.0), (x, bottom)], BLACK.mix(0.5));
            chart.draw_series(std::iter::once(line))?;
            let name = if lane < self.nodes { format!("n{lane}") } else { "clients".into() };
            let (px, py) = chart.backend_coord(&(x, 0.0));
            let style = TextStyle::from((FONT, 16).into_font()).pos(text_anchor_bottom());
            root.draw(&Text::new(name, (px, py - 6), style))?;
        }
        Ok(())
    }

    /// The fault windows: a band over a crashed node's lane, over every lane for a network
    /// cut or degraded links, a line for an instant; one legend entry per class.
    fn draw_windows<DB>(&self, chart: &mut SeqChart<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        for w in &self.windows {
            let colour = window_colour(w.class);
            let (top, bottom) = (self.y(w.start_ns), self.y(w.end_ns));
            if w.class.is_instant() {
                let (x0, x1) = match w.node {
                    Some(n) => (f64::from(n) - 0.3, f64::from(n) + 0.3),
                    None => (-0.6, self.right()),
                };
                let line = PathElement::new(vec![(x0, top), (x1, top)], colour.stroke_width(2));
                chart.draw_series(std::iter::once(line))?;
                continue;
            }
            let band = match (w.class, w.node) {
                (WindowClass::Crash, Some(n)) => {
                    let x = f64::from(n);
                    [(x - 0.1, top), (x + 0.1, bottom)]
                }
                _ => [(-0.6, top), (self.right(), bottom)],
            };
            chart.draw_series(std::iter::once(Rectangle::new(band, colour.mix(0.18).filled())))?;
        }
        for class in WindowClass::ALL {
            if !self.windows.iter().any(|w| w.class == class) {
                continue;
            }
            let colour = window_colour(class);
            let none = std::iter::empty::<Circle<(f64, f64), u32>>();
            chart.draw_series(none)?.label(class.legend()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.mix(0.35).filled())
            });
        }
        Ok(())
    }

    fn draw_messages<DB>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut SeqChart<'_, DB>,
    ) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let kinds =
            [(PEER, "node to node"), (REQUEST, "client request"), (REPLY, "reply"), (LOST, "lost")];
        for (colour, name) in kinds {
            let of_kind = self.messages.iter().filter(|m| self.kind_colour(m) == colour);
            let lines = of_kind.map(|m| {
                PathElement::new(vec![self.start_of(m), self.end_of(m).0], colour.stroke_width(1))
            });
            chart.draw_series(lines)?.label(name).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
        for m in &self.messages {
            let colour = self.kind_colour(m);
            let start = chart.backend_coord(&self.start_of(m));
            let (end, arrow) = self.end_of(m);
            let end = chart.backend_coord(&end);
            if arrow {
                root.draw(&Polygon::new(arrowhead(start, end), colour.filled()))?;
            } else if m.lost {
                root.draw(&Cross::new(end, 5, LOST.stroke_width(2)))?;
            }
        }
        Ok(())
    }

    fn draw_marks<DB>(&self, chart: &mut SeqChart<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        for mark in &self.marks {
            let y = self.y(mark.t);
            match mark.lane {
                None => {
                    let line = PathElement::new(vec![(-0.6, y), (self.right(), y)], mark.colour);
                    chart.draw_series(std::iter::once(line))?;
                }
                Some(lane) => {
                    let radius = if mark.named { 6 } else { 4 };
                    let dot = Circle::new((f64::from(lane), y), radius, mark.colour.filled());
                    chart.draw_series(std::iter::once(dot))?;
                }
            }
        }
        Ok(())
    }

    /// The violation (a red line at the failure) and the other times the check names
    /// (dashed), each with a legend entry.
    fn draw_focus<DB>(&self, chart: &mut SeqChart<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let Some(focus) = &self.focus else { return Ok(()) };
        let across = |t: Nanos| vec![(-0.6, self.y(t)), (self.right(), self.y(t))];
        let named = focus.named_ns.iter().filter(|&&t| t != focus.failure_ns && self.in_window(t));
        let dashed = named.map(|&t| DashedPathElement::new(across(t), 6, 4, NAMED.stroke_width(2)));
        chart.draw_series(dashed)?.label("time the check names").legend(|(x, y)| {
            DashedPathElement::new(vec![(x, y), (x + 20, y)], 4, 3, NAMED.stroke_width(2))
        });
        let failure = self
            .in_window(focus.failure_ns)
            .then(|| PathElement::new(across(focus.failure_ns), VIOLATION.stroke_width(3)));
        chart.draw_series(failure)?.label("violation").legend(|(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], VIOLATION.stroke_width(3))
        });
        Ok(())
    }

    /// Labels of the violation and the named times, at the left end of their line (or the
    /// right end when taken).
    fn label_focus<DB>(&self, chart: &SeqChart<'_, DB>, placer: &mut Placer<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let Some(focus) = &self.focus else { return Ok(()) };
        let (xs, _) = chart.plotting_area().get_pixel_range();
        for &t in focus.named_ns.iter().rev().filter(|&&t| self.in_window(t)) {
            let y = chart.backend_coord(&(0.0, self.y(t))).1;
            let (mut text, colour) = if t == focus.failure_ns {
                (format!("violation of `{}` at {}", focus.check, format_seconds(t)), VIOLATION)
            } else {
                (format!("named by `{}`: t={}", focus.check, format_seconds(t)), NAMED)
            };
            if let Some(note) = focus.note(t) {
                text.push_str(&format!(": {note}"));
            }
            let (left, right) = (xs.start + 4, xs.end - 4);
            placer.place(&text, 14, colour, |w, h| {
                vec![(left, y - h - 2), (right - w, y - h - 2), (left, y + 3), (right - w, y + 3)]
            })?;
        }
        Ok(())
    }

    /// Labels of marks: a lane mark's beside its dot, a cluster mark's above its line. With
    /// `named`, only the marks the check names, else only the others.
    fn label_marks<DB>(
        &self,
        chart: &SeqChart<'_, DB>,
        placer: &mut Placer<'_, DB>,
        named: bool,
    ) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        for mark in self.marks.iter().filter(|m| m.named == named) {
            let y = chart.backend_coord(&(0.0, self.y(mark.t))).1;
            let size = if named { 13 } else { 11 };
            match mark.lane {
                Some(lane) => {
                    let x = chart.backend_coord(&(f64::from(lane), 0.0)).0;
                    placer.place(&mark.label, size, mark.colour, |w, h| {
                        let (above, below) = (y - h - 2, y + 3);
                        vec![(x + 8, above), (x - 8 - w, above), (x + 8, below), (x - 8 - w, below)]
                    })?;
                }
                None => {
                    let xs = self.lane_gaps(chart);
                    placer.place(&mark.label, size, mark.colour, |_, h| {
                        xs.iter().map(|&x| (x, y - h - 1)).collect()
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Left edges of the gaps between lanes, in pixels, where cluster-wide labels go.
    fn lane_gaps<DB>(&self, chart: &SeqChart<'_, DB>) -> Vec<i32>
    where
        DB: DrawingBackend,
    {
        (0..=self.nodes).map(|l| chart.backend_coord(&(f64::from(l) - 0.55, 0.0)).0).collect()
    }

    /// Labels of fault windows, at their start (or at the top of a window begun before).
    fn label_windows<DB>(&self, chart: &SeqChart<'_, DB>, placer: &mut Placer<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        for w in &self.windows {
            let until = format!("until {}", format_seconds(w.end_ns));
            let text = match (w.start_ns < self.from_ns, w.class.is_instant()) {
                (_, true) => w.label.clone(),
                (true, false) => {
                    format!("{} (since {}, {until})", w.label, format_seconds(w.start_ns))
                }
                (false, false) => format!("{} ({until})", w.label),
            };
            let y = chart.backend_coord(&(0.0, self.y(w.start_ns))).1;
            let xs = match w.node {
                Some(n) => vec![chart.backend_coord(&(f64::from(n) + 0.12, 0.0)).0],
                None => self.lane_gaps(chart),
            };
            placer.place(&text, 12, window_colour(w.class), |_, h| {
                xs.iter().flat_map(|&x| [(x, y + 2), (x, y - h - 1)]).collect()
            })?;
        }
        Ok(())
    }

    /// Labels of messages, node-to-node first: each above its arrow, at its middle or moved
    /// along it where that spot is taken, or left out.
    fn label_messages<DB>(
        &self,
        chart: &SeqChart<'_, DB>,
        placer: &mut Placer<'_, DB>,
    ) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let peers = self.messages.iter().filter(|m| self.kind_colour(m) == PEER);
        let others = self.messages.iter().filter(|m| self.kind_colour(m) != PEER);
        for m in peers.chain(others) {
            let (sx, sy) = chart.backend_coord(&self.start_of(m));
            let (ex, ey) = chart.backend_coord(&self.end_of(m).0);
            placer.place(&m.name, 10, self.kind_colour(m), |w, h| {
                [0.5, 0.35, 0.65, 0.2, 0.8]
                    .iter()
                    .map(|f| {
                        let x = sx + ((ex - sx) as f64 * f) as i32;
                        let y = sy + ((ey - sy) as f64 * f) as i32;
                        (x - w / 2, y - h - 1)
                    })
                    .collect()
            })?;
        }
        Ok(())
    }
}

/// Seconds with microseconds, as checkers name times: `1.008991s`.
fn format_seconds(t: Nanos) -> String {
    format!("{}.{:06}s", t / 1_000_000_000, t % 1_000_000_000 / 1_000)
}

fn text_anchor_bottom() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Center, VPos::Bottom)
}

/// A 8-pixel arrowhead at `end` of the line from `start`.
fn arrowhead(start: (i32, i32), end: (i32, i32)) -> Vec<(i32, i32)> {
    let (dx, dy) = (f64::from(end.0 - start.0), f64::from(end.1 - start.1));
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / len, dy / len);
    let (size, half) = (8.0, 3.5);
    let base = (f64::from(end.0) - ux * size, f64::from(end.1) - uy * size);
    let left = (base.0 - uy * half, base.1 + ux * half);
    let right = (base.0 + uy * half, base.1 - ux * half);
    let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    vec![end, px(left), px(right)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_default() {
        assert_eq!(parse_window("3s..3.05s"), Ok((3_000_000_000, 3_050_000_000)));
        assert!(parse_window("3s").is_err() && parse_window("2s..1s").is_err());
        assert_eq!(default_window(&[]), (0, SEQUENCE_WINDOW_NS));
    }

    #[test]
    fn facts_are_labelled_with_the_entry_or_term_they_name() {
        let label = |name, fields| fact_label(name, &serde_json::json!(fields));
        let commit = serde_json::json!({"fact": "commit", "index": 15, "term": 1, "digest": 9});
        assert_eq!(fact_label("commit", &commit), "commit 15@t1");
        assert_eq!(label("log_append", serde_json::json!({"index": 2, "term": 3})), "append 2@t3");
        assert_eq!(label("leader", serde_json::json!({"term": 7})), "leader t7");
        assert_eq!(label("apply", serde_json::json!({"index": 4, "command": 1})), "apply 4");
        assert_eq!(label("membership", serde_json::json!({"members": [0, 1]})), "membership");
    }

    #[test]
    fn arrowheads_point_along_the_line() {
        let head = arrowhead((0, 0), (100, 0));
        assert_eq!(head[0], (100, 0));
        assert!(head[1].0 == 92 && head[2].0 == 92 && head[1].1 == -head[2].1);
    }
}
