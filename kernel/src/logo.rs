//! The kernel's logo, made here rather than shipped as binary files: a process forking into two,
//! white on rust orange. One description drives both the SVG and the PNG rasters, so they match.

use crate::png;

const SIZE: f64 = 64.0; // design units; the SVG's viewBox
const CORNER: f64 = 12.0;
const NODE_R: f64 = 8.0;
const EDGE_HALF_WIDTH: f64 = 2.5;
const PARENT: (f64, f64) = (32.0, 18.0);
const CHILDREN: [(f64, f64); 2] = [(16.0, 46.0), (48.0, 46.0)];
const BACKGROUND: [u8; 3] = [0xB7, 0x41, 0x0E];
const FOREGROUND: [u8; 3] = [0xFF, 0xFF, 0xFF];

/// `logo-svg.svg`, which JupyterLab prefers.
pub fn svg() -> String {
    let hex = |c: [u8; 3]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 {SIZE} {SIZE}\">\n\
         <title>Rust (multiproc)</title>\n\
         <rect width=\"{SIZE}\" height=\"{SIZE}\" rx=\"{CORNER}\" fill=\"{}\"/>\n",
        hex(BACKGROUND)
    );
    s += &format!(
        "<g stroke=\"{}\" stroke-width=\"{}\" stroke-linecap=\"round\">\n",
        hex(FOREGROUND),
        EDGE_HALF_WIDTH * 2.0
    );
    for (x, y) in CHILDREN {
        s += &format!("<line x1=\"{}\" y1=\"{}\" x2=\"{x}\" y2=\"{y}\"/>\n", PARENT.0, PARENT.1);
    }
    s += &format!("</g>\n<g fill=\"{}\">\n", hex(FOREGROUND));
    for (x, y) in std::iter::once(PARENT).chain(CHILDREN) {
        s += &format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"{NODE_R}\"/>\n");
    }
    s + "</g>\n</svg>\n"
}

/// The logo as a `px × px` PNG (Jupyter wants 32 and 64).
pub fn png(px: u32) -> Vec<u8> {
    const SAMPLES: u32 = 4; // 4×4 supersampling for smooth edges
    let scale = SIZE / f64::from(px);
    let mut rgba = Vec::with_capacity((px * px * 4) as usize);
    for py in 0..px {
        for pxx in 0..px {
            let (mut inside, mut fg) = (0u32, 0u32);
            for sy in 0..SAMPLES {
                for sx in 0..SAMPLES {
                    let x = (f64::from(pxx) + (f64::from(sx) + 0.5) / f64::from(SAMPLES)) * scale;
                    let y = (f64::from(py) + (f64::from(sy) + 0.5) / f64::from(SAMPLES)) * scale;
                    if in_rounded_square(x, y) {
                        inside += 1;
                        fg += u32::from(in_foreground(x, y));
                    }
                }
            }
            let total = SAMPLES * SAMPLES;
            for c in 0..3 {
                // Foreground mixed over background, weighted by the covered samples.
                let (b, f) = (u32::from(BACKGROUND[c]), u32::from(FOREGROUND[c]));
                let v = (b * (inside - fg) + f * fg).checked_div(inside).unwrap_or(0);
                rgba.push(v as u8);
            }
            rgba.push((inside * 255 / total) as u8);
        }
    }
    png::encode_rgba(px, px, &rgba)
}

fn in_rounded_square(x: f64, y: f64) -> bool {
    let cx = x.clamp(CORNER, SIZE - CORNER);
    let cy = y.clamp(CORNER, SIZE - CORNER);
    (0.0..=SIZE).contains(&x) && (0.0..=SIZE).contains(&y) && (x - cx).hypot(y - cy) <= CORNER
}

fn in_foreground(x: f64, y: f64) -> bool {
    let near = |(px, py): (f64, f64)| (x - px).hypot(y - py) <= NODE_R;
    near(PARENT) || CHILDREN.iter().any(|&c| near(c) || distance_to_segment((x, y), PARENT, c) <= EDGE_HALF_WIDTH)
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    (p.0 - (a.0 + t * dx)).hypot(p.1 - (a.1 + t * dy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_transparent_centre_of_parent_white() {
        let png = png(64);
        assert_eq!(&png[1..4], b"PNG");
        assert!(!in_rounded_square(0.5, 0.5));
        assert!(in_foreground(PARENT.0, PARENT.1));
        assert!(!in_foreground(32.0, 40.0)); // between the two children
    }

    #[test]
    fn svg_is_one_document() {
        let s = svg();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 3);
    }
}
