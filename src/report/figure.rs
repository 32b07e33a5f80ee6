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

/// Colour of a fault window.
pub fn window_colour(class: WindowClass) -> RGBColor {
    match class {
        WindowClass::Network => RGBColor(70, 110, 200),
        WindowClass::Crash => RGBColor(120, 120, 120),
        WindowClass::Degrade => RGBColor(170, 90, 190),
        WindowClass::Marker => RGBColor(200, 40, 40),
    }
}

/// The three outcomes in drawing order.
pub const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

/// Longest fault label drawn; longer ones are cut.
const LABEL_CHARS_MAX: usize = 28;

/// Shades every fault window of a time chart (x in seconds) and labels it at the top: spans as
/// translucent bands, instants as vertical lines. Labels go on three staggered rows so that
/// neighbouring windows stay readable.
pub fn shade_faults<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    windows: &[FaultWindow],
    y_lo: f64,
    y_hi: f64,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    let s = |ns: u64| ns as f64 / 1e9;
    for w in windows {
        let colour = window_colour(w.class);
        if w.class == WindowClass::Marker {
            let line = vec![(s(w.start_ns), y_lo), (s(w.start_ns), y_hi)];
            chart.draw_series(std::iter::once(PathElement::new(line, colour.stroke_width(2))))?;
        } else {
            let band = [(s(w.start_ns), y_lo), (s(w.end_ns), y_hi)];
            chart.draw_series(std::iter::once(Rectangle::new(band, colour.mix(0.15).filled())))?;
        }
    }
    let area = chart.plotting_area().strip_coord_spec();
    let base = area.get_base_pixel();
    for (i, w) in windows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(s(w.start_ns), y_hi));
        let row = (i % 3) as i32;
        let label: String = w.label.chars().take(LABEL_CHARS_MAX).collect();
        let style = (FONT, 12).into_font().color(&window_colour(w.class));
        let at = (x - base.0 + 3, y - base.1 + 3 + 14 * row);
        area.draw(&Text::new(label, at, style))?;
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
