//! The message sequence (space-time) diagram of a short window of a run, read from its trace:
//! one vertical lane per node and one for all clients, time flowing down, an arrow per message
//! from (sender, send time) to (receiver, arrival time), a cross where a message was lost.

use super::figure::{builder, legend, window_colour, DrawResult, Figure, FONT};
use super::trace::{for_each_record, TraceEvent, TraceRecord};
use super::windows::{FaultWindow, WindowClass};
use super::ReportError;
use crate::engine::{format_nanos, parse_duration, Nanos, MILLISECOND};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// Length of the default window.
pub const SEQUENCE_WINDOW_NS: Nanos = 50 * MILLISECOND;
/// Most messages drawn; the picture says when it shows fewer than the window holds.
pub const SEQUENCE_MESSAGES_MAX: usize = 400;
/// Messages are labelled with their name when at most this many are drawn.
const LABELLED_MESSAGES_MAX: usize = 60;
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

/// The default window: the last [`SEQUENCE_WINDOW_NS`] before `failure_ns` if the run failed
/// there, else the first after the first fault, else the start of the run.
pub fn default_window(failure_ns: Option<Nanos>, windows: &[FaultWindow]) -> (Nanos, Nanos) {
    match (failure_ns, windows.first()) {
        (Some(t), _) => (t.saturating_sub(SEQUENCE_WINDOW_NS), t.max(1)),
        (None, Some(w)) => (w.start_ns, w.start_ns + SEQUENCE_WINDOW_NS),
        (None, None) => (0, SEQUENCE_WINDOW_NS),
    }
}

/// Time of the last record of a trace (the failure, for runs stopped by a violation).
pub fn last_record_ns(trace: &Path) -> Result<Nanos, ReportError> {
    let mut last = 0;
    for_each_record(trace, |r| last = last.max(r.t))?;
    Ok(last)
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
    label: String,
    colour: RGBColor,
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
}

impl SequenceDiagram {
    /// Reads the records of `trace` in `[from_ns, to_ns]`; `windows` are the run's faults.
    pub fn read(
        name: &str,
        trace: &Path,
        nodes: u32,
        (from_ns, to_ns): (Nanos, Nanos),
        windows: &[FaultWindow],
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
                _ => marks.extend(mark_of(&r, nodes)),
            }
        })?;
        // Lost in flight: the sender's record names the arrival time the drop record has.
        for m in messages.iter_mut().filter(|m| !m.lost) {
            m.lost = lost_in_flight.contains(&(m.from, m.to, m.arrive_ns.unwrap_or(0)));
        }
        messages.sort_by_key(|m| (m.send_ns, m.from, m.to));
        let messages_in_window = messages.len();
        messages.truncate(SEQUENCE_MESSAGES_MAX);
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
        })
    }
}

fn mark_of(r: &TraceRecord, nodes: u32) -> Option<Mark> {
    let (lane, label, colour) = match &r.event {
        TraceEvent::Boot { node } => (Some(*node), "boot".to_string(), RGBColor(46, 160, 67)),
        TraceEvent::Fault { fault, .. } => (None, fault.clone(), RGBColor(200, 40, 40)),
        TraceEvent::QuietStart => (None, "quiet period".to_string(), RGBColor(46, 160, 67)),
        TraceEvent::Fact { node, fact, .. } => {
            (Some(*node), fact.name().to_string(), RGBColor(90, 90, 90))
        }
        _ => return None,
    };
    Some(Mark { t: r.t, lane: lane.map(|l| l.min(nodes)), label, colour })
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
}

type SeqChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

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
        let capped = if self.messages_in_window > self.messages.len() {
            format!(" (first {} of {} shown)", self.messages.len(), self.messages_in_window)
        } else {
            format!(" ({} messages)", self.messages.len())
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
        self.draw_lanes(root, &mut chart)?;
        self.draw_windows(&mut chart)?;
        self.draw_messages(root, &mut chart)?;
        self.draw_marks(&mut chart)?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

impl SequenceDiagram {
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

    fn draw_windows<DB>(&self, chart: &mut SeqChart<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let right = f64::from(self.nodes) + 0.4;
        for w in &self.windows {
            let colour = window_colour(w.class);
            let (top, bottom) = (self.y(w.start_ns), self.y(w.end_ns));
            let band = match (w.class, w.node) {
                _ if w.class.is_instant() => continue, // drawn as a mark from the trace
                (WindowClass::Crash, Some(n)) => {
                    let x = f64::from(n);
                    [(x - 0.1, top), (x + 0.1, bottom)]
                }
                _ => [(-0.6, top), (right, bottom)],
            };
            chart.draw_series(std::iter::once(Rectangle::new(band, colour.mix(0.18).filled())))?;
            let label = format!("{} (until {})", w.label, format_nanos(w.end_ns));
            let style = (FONT, 12).into_font().color(&colour);
            let at = (band[0].0 + 0.02, top.min(-0.002 * self.len_ms()));
            chart.draw_series(std::iter::once(Text::new(label, at, style)))?;
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
        let labelled = self.messages.len() <= LABELLED_MESSAGES_MAX;
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
            if labelled && !m.name.is_empty() {
                let mid = ((start.0 + end.0) / 2, (start.1 + end.1) / 2 - 2);
                let style = (FONT, 10).into_font().color(&colour);
                root.draw(&Text::new(m.name.clone(), mid, style))?;
            }
        }
        Ok(())
    }

    fn draw_marks<DB>(&self, chart: &mut SeqChart<'_, DB>) -> DrawResult
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let right = f64::from(self.nodes) + 0.4;
        for mark in &self.marks {
            let y = self.y(mark.t);
            let style = (FONT, 12).into_font().color(&mark.colour);
            match mark.lane {
                None => {
                    let line = PathElement::new(vec![(-0.6, y), (right, y)], mark.colour);
                    chart.draw_series(std::iter::once(line))?;
                    let text = Text::new(mark.label.clone(), (-0.55, y), style);
                    chart.draw_series(std::iter::once(text))?;
                }
                Some(lane) => {
                    let x = f64::from(lane);
                    let dot = Circle::new((x, y), 4, mark.colour.filled());
                    chart.draw_series(std::iter::once(dot))?;
                    let text = Text::new(mark.label.clone(), (x + 0.04, y), style);
                    chart.draw_series(std::iter::once(text))?;
                }
            }
        }
        Ok(())
    }
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
        assert_eq!(
            default_window(Some(70 * MILLISECOND), &[]),
            (20 * MILLISECOND, 70 * MILLISECOND)
        );
        assert_eq!(default_window(None, &[]), (0, SEQUENCE_WINDOW_NS));
    }

    #[test]
    fn arrowheads_point_along_the_line() {
        let head = arrowhead((0, 0), (100, 0));
        assert_eq!(head[0], (100, 0));
        assert!(head[1].0 == 92 && head[2].0 == 92 && head[1].1 == -head[2].1);
    }
}
