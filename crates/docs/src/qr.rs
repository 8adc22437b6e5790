//! QR codes as a square matrix of dark modules, for the PDF (vector squares) and the HTML view
//! (an inline SVG). Not responsible for what the code encodes.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light border around the code (the standard's quiet zone).
pub(crate) const QUIET: usize = 4;

/// The code's modules, row by row (`true` = dark), without the quiet zone; `None` when the text
/// does not fit in a QR code.
pub(crate) fn modules(text: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    Some((width, code.to_colors().into_iter().map(|c| c == Color::Dark).collect()))
}

/// The code as an SVG element (no inline style, so it passes a strict Content-Security-Policy).
pub(crate) fn svg(text: &str) -> Option<String> {
    let (width, dark) = modules(text)?;
    let size = width + 2 * QUIET;
    let mut path = String::new();
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = (i % width + QUIET, i / width + QUIET);
        path.push_str(&format!("M{x} {y}h1v1h-1z"));
    }
    Some(format!(
        "<svg class=\"print-doc-qr-code\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"132\" height=\"132\" role=\"img\" aria-label=\"二维码\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_fits_and_too_long_text_does_not() {
        let (width, dark) = modules("https://example.org/query?number=HRB-2026-000001").unwrap();
        assert_eq!(dark.len(), width * width);
        assert!(dark.iter().any(|d| *d) && dark.iter().any(|d| !*d));
        assert!(modules(&"x".repeat(5000)).is_none());
        assert!(svg("abc").unwrap().starts_with("<svg"));
    }
}
