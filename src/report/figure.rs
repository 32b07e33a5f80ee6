//! Plotting helpers shared by every picture: the embedded font, rendering one figure to both SVG
//! and PNG, outcome colours, and the fault shading of time charts.

use super::windows::{FaultWindow, WindowClass};
use super::ReportError;
use crate::workload::Outcome;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// What drawing a figure returns; plotters' errors are boxed, and become a [`ReportError`].
pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// DejaVu Sans (see assets/LICENSE-DejaVu.txt): PNG text needs a font and sim uses no system
/// library to find one.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family every figure writes its text in (SVG viewers use their own sans-serif).
pub const FONT: &str = "sans-serif";

/// Registers the embedded font under the generic family names, once per process.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for name in ["sans-serif", "serif", "monospace"] {
            let registered = plotters::style::register_font(name, FontStyle::Normal, FONT_BYTES);
            assert!(registered.is_ok(), "the embedded DejaVu font parses");
        }
    });
}

/// A picture that can draw itself on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size_px(&self) -> (u32, u32) {
        (1200, 600)
    }

    /// Draws the whole picture on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Renders `figure` to `dir/STEM.svg` and `dir/STEM.png`; returns both paths.
pub fn save(figure: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
    register_fonts();
    let size = figure.size_px();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let failed = |file: &Path, e: Box<dyn std::error::Error>| ReportError::new(file, e.to_string());
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        figure.draw(&root).and_then(|()| Ok(root.present()?)).map_err(|e| failed(&svg, e))?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        figure.draw(&root).and_then(|()| Ok(root.present()?)).map_err(|e| failed(&png, e))?;
    }
    Ok(vec![svg, png])
}

/// Colour of an operation outcome, as Jepsen draws them: ok green, fail orange, info red.
pub fn outcome_colour(outcome: Outcome) -> RGBColor {
    match outcome {
        Outcome::Ok => RGBColor(46, 160, 67),
        Outcome::Fail => RGBColor(255, 140, 0),
        Outcome::Info => RGBColor(214, 39, 40),
    }
}

/// Colour of a fault window. Clock faults are teal, not red: red is the `info` outcome.
pub fn window_colour(class: WindowClass) -> RGBColor {
    match class {
        WindowClass::Network => RGBColor(70, 110, 200),
        WindowClass::Crash => RGBColor(120, 120, 120),
        WindowClass::Degrade => RGBColor(170, 90, 190),
        WindowClass::Clock => RGBColor(0, 139, 139),
        WindowClass::Disk => RGBColor(140, 86, 75),
    }
}

/// The three outcomes in drawing order.
pub const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

/// Longest fault label drawn; longer ones are cut.
const LABEL_CHARS_MAX: usize = 28;
/// Rows of fault labels above a time chart; a label that fits in none is left out.
pub const FAULT_LABEL_ROWS: i32 = 3;
/// Height of one row of fault labels.
const FAULT_LABEL_ROW_PX: i32 = 14;
/// Space between two labels on one row.
const LABEL_GAP_PX: i32 = 6;

/// Pixel boxes already taken by text: a label is drawn only where it overprints nothing.
#[derive(Clone, Debug, Default)]
pub struct LabelSpace {
    taken: Vec<[i32; 4]>,
}

impl LabelSpace {
    /// Takes the box `x, y, w, h` (pixels, top-left corner) if it overlaps no box taken so far,
    /// padded by `pad` pixels; returns whether it did.
    pub fn take(&mut self, x: i32, y: i32, w: i32, h: i32, pad: i32) -> bool {
        let free = self.taken.iter().all(|&[x0, y0, x1, y1]| {
            x + w + pad <= x0 || x1 + pad <= x || y + h + pad <= y0 || y1 + pad <= y
        });
        if free {
            self.block(x, y, w, h);
        }
        free
    }

    /// Marks the box as taken, whatever it overlaps (a legend, a label that must be shown).
    pub fn block(&mut self, x: i32, y: i32, w: i32, h: i32) {
        self.taken.push([x, y, x + w, y + h]);
    }
}

/// The size in pixels of `text` in `style` on `area`.
pub fn text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
) -> Result<(i32, i32), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.estimate_text_size(text, style)?;
    Ok((w as i32, h as i32))
}

/// The label strip and the chart area of a time chart.
pub type TimeChartAreas<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

/// A time chart's areas: the caption is drawn on `root`; returns the strip for the fault
/// labels (rows above the plot, so that they overprint neither data nor legend) and the
/// area for the chart itself.
pub fn time_chart_areas<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<TimeChartAreas<DB>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let body = root.margin(14, 14, 14, 14).titled(title, (FONT, 22))?;
    let strip_px = FAULT_LABEL_ROWS * FAULT_LABEL_ROW_PX + 4;
    Ok(body.split_vertically(strip_px))
}

/// A builder for the chart part of a time chart (see [`time_chart_areas`]).
pub fn time_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.x_label_area_size(48).y_label_area_size(72);
    b
}

/// Shades every fault window of a time chart (x in seconds): spans as translucent bands,
/// instants as vertical lines. Each window is labelled in `strip` (from
/// [`time_chart_areas`]) on the first of [`FAULT_LABEL_ROWS`] rows where it overprints no
/// other label; a label that fits nowhere is left out (its band or line still shows). Returns
/// how many labels were left out.
pub fn shade_faults<DB, Y>(
    strip: &DrawingArea<DB, Shift>,
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    windows: &[FaultWindow],
    y_lo: f64,
    y_hi: f64,
) -> Result<usize, Box<dyn std::error::Error>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    let s = |ns: u64| ns as f64 / 1e9;
    for w in windows {
        let colour = window_colour(w.class);
        if w.class.is_instant() {
            let line = vec![(s(w.start_ns), y_lo), (s(w.start_ns), y_hi)];
            chart.draw_series(std::iter::once(PathElement::new(line, colour.stroke_width(2))))?;
        } else {
            let band = [(s(w.start_ns), y_lo), (s(w.end_ns), y_hi)];
            chart.draw_series(std::iter::once(Rectangle::new(band, colour.mix(0.15).filled())))?;
        }
    }
    let base = strip.get_base_pixel();
    let right = strip.dim_in_pixel().0 as i32;
    let mut labels = Vec::with_capacity(windows.len());
    for w in windows {
        let start_x = chart.backend_coord(&(s(w.start_ns), y_hi)).0 - base.0;
        let label = cut(&w.label, LABEL_CHARS_MAX);
        let style = (FONT, 12).into_font().color(&window_colour(w.class));
        let (width, _) = text_size(strip, &label, &style)?;
        labels.push((start_x, width, label, style, w.class));
    }
    let spans: Vec<(i32, i32)> = labels.iter().map(|l| (l.0, l.1)).collect();
    let rows = label_rows(&spans, right);
    let mut left_out = 0;
    for ((start_x, _, label, style, class), row) in labels.into_iter().zip(rows) {
        let Some((row, x)) = row else {
            left_out += 1;
            continue;
        };
        let y = 2 + FAULT_LABEL_ROW_PX * row as i32;
        strip.draw(&Text::new(label, (x, y), style))?;
        // A tick from the label's row down to the chart marks where the window starts.
        let tick = vec![(start_x, y + FAULT_LABEL_ROW_PX - 2), (start_x, strip_height(strip))];
        strip.draw(&PathElement::new(tick, window_colour(class).mix(0.6)))?;
    }
    Ok(left_out)
}

/// `text` cut to `chars_max` characters, an ellipsis marking the cut.
fn cut(text: &str, chars_max: usize) -> String {
    if text.chars().count() <= chars_max {
        return text.to_string();
    }
    let kept: String = text.chars().take(chars_max - 1).collect();
    format!("{kept}…")
}

/// Rows for labels `(x, width)` in pixels, in order along a strip `right` pixels wide: each goes
/// on the first of [`FAULT_LABEL_ROWS`] rows where it keeps [`LABEL_GAP_PX`] from the label
/// before it, left-aligned at `x` or pulled in from the right edge; `None` when no row has room.
/// Returns `(row, left x)` per label.
pub fn label_rows(labels: &[(i32, i32)], right: i32) -> Vec<Option<(usize, i32)>> {
    let mut row_end = [i32::MIN / 2; FAULT_LABEL_ROWS as usize];
    labels
        .iter()
        .map(|&(start_x, width)| {
            let x = (start_x + 2).min(right - width).max(0);
            let row = row_end.iter().position(|&end| end + LABEL_GAP_PX <= x)?;
            row_end[row] = x + width;
            Some((row, x))
        })
        .collect()
}

fn strip_height<DB: DrawingBackend>(strip: &DrawingArea<DB, Shift>) -> i32 {
    strip.dim_in_pixel().1 as i32
}

/// Adds a legend entry for each class of fault window the chart shades (drawn by [`legend`]
/// with the chart's own entries), with `left_out` labels noted.
pub fn fault_legend<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    windows: &[FaultWindow],
    left_out: usize,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    for class in WindowClass::ALL {
        let count = windows.iter().filter(|w| w.class == class).count();
        if count == 0 {
            continue;
        }
        let colour = window_colour(class);
        let none = std::iter::empty::<Circle<(f64, f64), u32>>();
        let entry = chart.draw_series(none)?.label(format!("{} ({count})", class.legend()));
        if class.is_instant() {
            entry.legend(move |(x, y)| {
                PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], colour.stroke_width(2))
            });
        } else {
            entry.legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.mix(0.35).filled())
            });
        }
    }
    if left_out > 0 {
        let none = std::iter::empty::<Circle<(f64, f64), u32>>();
        let text = format!("({left_out} fault labels left out)");
        chart.draw_series(none)?.label(text).legend(|(x, y)| Circle::new((x, y), 0, WHITE));
    }
    Ok(())
}

/// A chart builder with the house style: caption, margins and label areas.
pub fn builder<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, (FONT, 22)).margin(14).x_label_area_size(48).y_label_area_size(72);
    b
}

/// Draws the legend of the series labelled so far at `position`.
pub fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged,
    Y: Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hello;

    impl Figure for Hello {
        fn size_px(&self) -> (u32, u32) {
            (320, 200)
        }
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
        where
            DB::ErrorType: 'static,
        {
            root.fill(&WHITE)?;
            let mut chart = builder(root, "hello title").build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
            chart.configure_mesh().x_desc("time (s)").draw()?;
            Ok(())
        }
    }

    #[test]
    fn fault_labels_go_on_free_rows_or_are_left_out() {
        // Four labels 100 px wide starting 10 px apart: three rows, the fourth is left out;
        // one far to the right goes back on the first row, pulled in from the edge.
        let labels = [(0, 100), (10, 100), (20, 100), (30, 100), (950, 100)];
        let rows = label_rows(&labels, 1000);
        assert_eq!(rows, vec![Some((0, 2)), Some((1, 12)), Some((2, 22)), None, Some((0, 900))]);
        // No two placed labels on one row overlap.
        let placed: Vec<_> =
            rows.iter().zip(&labels).filter_map(|(r, l)| r.map(|r| (r, l.1))).collect();
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                let ((ra, xa), wa) = a;
                let ((rb, xb), wb) = b;
                assert!(ra != rb || xa + wa <= *xb || xb + wb <= *xa, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(cut("crash n1", 28), "crash n1");
        assert_eq!(cut("partition n0,n1 | n2,n3,n4", 10), "partition…");
    }

    #[test]
    fn label_space_refuses_overlaps() {
        let mut space = LabelSpace::default();
        assert!(space.take(0, 0, 50, 10, 1));
        assert!(!space.take(40, 5, 50, 10, 1), "overlaps the first");
        assert!(!space.take(50, 0, 10, 10, 1), "within the padding");
        assert!(space.take(52, 0, 10, 10, 1));
        space.block(100, 100, 10, 10);
        assert!(!space.take(105, 95, 10, 10, 0));
    }

    #[test]
    fn clock_faults_are_not_the_colour_of_indeterminate_operations() {
        let info = outcome_colour(Outcome::Info);
        for class in WindowClass::ALL {
            assert_ne!(window_colour(class), info, "{class:?}");
        }
    }

    #[test]
    fn a_figure_is_written_as_svg_and_png() {
        let dir = std::env::temp_dir().join(format!("sim-figure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = save(&Hello, &dir, "hello").unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("hello title") && svg.contains("time (s)"), "{svg}");
        let png = std::fs::read(&files[1]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
