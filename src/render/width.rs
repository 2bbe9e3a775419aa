//! Text width in Verdana 11px, the way shields.io measures badge text, so
//! our badges line up with the other badges in a README.
//!
//! Characters outside shields' table get a deliberate estimate instead of
//! shields' flat fallback (the width of `m`), which under-measures East Asian
//! wide characters and emoji; `textLength` on the SVG text keeps the layout
//! exact whatever font the viewer has.

/// Verdana 11px widths of ASCII 0x20..=0x7E.
const ASCII: [f64; 95] = [
    3.87, 4.33, 5.05, 9.0, 6.99, 11.84, 7.99, 2.95, 5.0, 5.0, 6.99, 9.0, 4.0, 5.0, 4.0, 5.0, // space../
    6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, // 0-9
    5.0, 5.0, 9.0, 9.0, 9.0, 6.0, 11.0, // : ; < = > ? @
    7.52, 7.54, 7.68, 8.48, 6.96, 6.32, 8.53, 8.27, 4.63, 5.0, 7.62, 6.12, 9.27, // A-M
    8.23, 8.66, 6.63, 8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.54, // N-Z
    5.0, 5.0, 5.0, 9.0, 6.99, 6.99, // [ \ ] ^ _ `
    6.61, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.7, // a-m
    6.96, 6.68, 6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 9.0, 6.51, 6.51, 5.78, // n-z
    6.98, 5.0, 6.98, 9.0, // { | } ~
];

const M_WIDTH: f64 = 10.7;
/// East Asian wide/fullwidth characters render about one em (11 px) wide;
/// a little extra keeps them from touching the badge edge.
const WIDE: f64 = 12.0;
/// Emoji are drawn wider than one em by most emoji fonts.
const EMOJI: f64 = 13.0;

/// Width of one character in Verdana 11px.
pub fn char_width(c: char) -> f64 {
    let cp = c as u32;
    if (0x20..=0x7e).contains(&cp) {
        return ASCII[(cp - 0x20) as usize];
    }
    if c.is_control() || is_zero_width(cp) {
        return 0.0;
    }
    if let Some(base) = latin1_base(c) {
        return char_width(base);
    }
    match cp {
        0xa0 => 3.87,
        0xb7 => 4.0,
        _ if is_emoji(cp) => EMOJI,
        _ if is_wide(cp) => WIDE,
        _ => M_WIDTH,
    }
}

/// shields' rule: sum, truncate, and make odd so the text centres on a pixel.
pub fn text_width(text: &str) -> u32 {
    odd(raw_width(text))
}

/// A summed width truncated and made odd.
fn odd(sum: f64) -> u32 {
    let w = sum as u32;
    if w.is_multiple_of(2) {
        w + 1
    } else {
        w
    }
}

/// The un-rounded sum of character widths.
pub fn raw_width(text: &str) -> f64 {
    text.chars().map(char_width).sum()
}

/// Accented Latin-1 letters are as wide as their base letter in Verdana.
fn latin1_base(c: char) -> Option<char> {
    Some(match c {
        'À'..='Å' => 'A',
        'Ç' => 'C',
        'È'..='Ë' => 'E',
        'Ì'..='Ï' => 'I',
        'Ñ' => 'N',
        'Ò'..='Ö' | 'Ø' => 'O',
        'Ù'..='Ü' => 'U',
        'Ý' => 'Y',
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' | 'ø' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}

fn is_zero_width(cp: u32) -> bool {
    matches!(cp, 0x200b..=0x200f | 0xfe00..=0xfe0f | 0x0300..=0x036f | 0x20d0..=0x20ff | 0xe0100..=0xe01ef)
}

fn is_emoji(cp: u32) -> bool {
    matches!(cp, 0x1f000..=0x1faff | 0x2600..=0x27bf | 0x1fc00..=0x1ffff)
}

fn is_wide(cp: u32) -> bool {
    matches!(cp,
        0x1100..=0x115f | 0x2e80..=0x303e | 0x3041..=0x33ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf | 0xac00..=0xd7a3 | 0xf900..=0xfaff | 0xfe30..=0xfe4f | 0xff00..=0xff60
        | 0xffe0..=0xffe6 | 0x20000..=0x3fffd)
}

/// Helvetica bold 11px widths of ASCII 0x20..=0x7E, the font shields
/// measures its `social` style in.
const HELVETICA_BOLD: [f64; 95] = [
    3.06, 3.06, 5.09, 6.12, 6.12, 11.0, 7.53, 3.06, 3.26, 3.26, 4.48, 6.6, 3.06, 4.48, 3.06, 4.08, // space../
    6.12, 6.12, 6.12, 6.12, 6.12, 6.12, 6.12, 6.12, 6.12, 6.12, // 0-9
    3.06, 3.06, 6.6, 6.6, 6.6, 6.12, 8.8, // : ; < = > ? @
    7.53, 7.74, 8.15, 8.15, 7.13, 6.52, 8.35, 8.15, 3.24, 6.12, 7.94, 6.52, 9.98, // A-M
    8.15, 8.56, 7.34, 8.56, 7.94, 7.14, 6.72, 8.15, 6.93, 10.38, 7.34, 7.34, 7.13, // N-Z
    3.66, 4.08, 3.66, 6.6, 5.5, 2.85, // [ \ ] ^ _ `
    6.31, 6.72, 6.31, 6.72, 6.31, 3.66, 6.72, 6.52, 2.84, 3.06, 6.31, 2.84, 9.97, // a-m
    6.52, 6.72, 6.72, 6.72, 4.28, 5.91, 3.87, 6.52, 5.72, 8.95, 5.91, 5.71, 5.71, // n-z
    3.66, 2.45, 3.66, 6.6, // { | } ~
];

/// `social` text width, with shields' odd rounding. Characters outside
/// ASCII get the Verdana estimate, which is wider than Helvetica bold.
pub fn social_width(text: &str) -> u32 {
    let sum: f64 = text
        .chars()
        .map(|c| match c as u32 {
            cp @ 0x20..=0x7e => HELVETICA_BOLD[(cp - 0x20) as usize],
            _ => char_width(c),
        })
        .sum();
    odd(sum)
}

/// Verdana 10px widths shields publishes for `for-the-badge` (normal, bold).
/// Characters not listed are estimated from the 11px table scaled by 10/11,
/// and by a further 1.1 when bold.
fn verdana10(c: char, bold: bool) -> f64 {
    let known = match (c, bold) {
        ('0'..='9', false) => 6.36,
        ('0'..='9', true) => 7.11,
        (' ', false) => 3.52,
        (' ', true) => 3.42,
        ('A' | 'S' | 'V', false) => 6.84,
        ('H', false) => 7.51,
        ('I', false) => 4.21,
        ('T', false) => 6.16,
        ('A', true) => 7.76,
        ('B', true) => 7.62,
        ('C', true) => 7.24,
        ('D', true) => 8.3,
        ('E', true) => 6.83,
        ('H', true) => 8.37,
        ('I', true) => 5.46,
        ('K', true) => 7.71,
        ('S', true) => 7.1,
        ('T', true) => 6.82,
        ('V', true) => 7.64,
        ('W', true) => 11.28,
        _ => 0.0,
    };
    if known > 0.0 {
        return known;
    }
    let scaled = char_width(c) * 10.0 / 11.0;
    if bold {
        scaled * 1.1
    } else {
        scaled
    }
}

/// `for-the-badge` text width: the sum floored, plus 1.25 px letter spacing
/// per character (no odd rounding, so it may end in .25, .5 or .75).
pub fn for_the_badge_width(text: &str, bold: bool) -> f64 {
    let sum: f64 = text.chars().map(|c| verdana10(c, bold)).sum();
    sum.floor() + 1.25 * text.chars().count() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_shields_examples() {
        assert_eq!(text_width("hits"), 21);
        assert_eq!(text_width("views"), 31);
        assert_eq!(text_width("123"), 21);
        assert_eq!(text_width("1.2k"), 25);
        assert_eq!(text_width("0"), 7);
    }

    #[test]
    fn n_digits_follow_the_formula() {
        for n in 1..=12 {
            let w = (6.99 * n as f64) as u32;
            let expected = if w.is_multiple_of(2) { w + 1 } else { w };
            assert_eq!(text_width(&"9".repeat(n)), expected, "{n} digits");
        }
    }

    #[test]
    fn social_measures_helvetica_bold() {
        // H 8.15 + i 2.84 + t 3.87 + s 5.91 = 20.77 -> 20 -> odd 21.
        assert_eq!(social_width("Hits"), 21);
        assert_eq!(social_width("123"), 19);
    }

    #[test]
    fn non_ascii_gets_a_generous_width() {
        assert_eq!(char_width('Å'), 7.52);
        assert_eq!(char_width('\u{a0}'), 3.87);
        assert!(char_width('漢') >= 11.0);
        assert!(char_width('🎉') >= 12.0);
        assert_eq!(char_width('\u{7}'), 0.0);
    }
}
