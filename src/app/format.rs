//! App layer: numbers as people read them — significant digits instead of fixed
//! decimals ("1e-6", not "0.00000100"), thousands grouped by a thin space
//! ("5 000 000"), and compact k / M / G for log-axis ticks.

/// The thin space that groups thousands: narrower than a word space, so "5 000 000"
/// reads as one number.
pub const THIN_SPACE: char = '\u{2009}';

/// `n` with its thousands grouped by a thin space: 5000000 → "5 000 000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(THIN_SPACE);
        }
        out.push(c);
    }
    out
}

/// Groups the integer part of a plain decimal string ("-12345.6" → "-12 345.6").
fn group_integer_part(plain: &str) -> String {
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain),
    };
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let grouped = int
        .parse::<u64>()
        .map_or_else(|_| int.to_owned(), thousands);
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Drops trailing zeros after a decimal point, and the point itself if nothing is left.
fn trim_zeros(s: String) -> String {
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// `x` to `digits` significant digits, trailing zeros dropped, thousands grouped:
/// `fmt_sig(6.374013, 3)` = "6.37", `fmt_sig(0.00012, 3)` = "0.00012",
/// `fmt_sig(5e6, 3)` = "5 000 000". Below 1e-4 and from 1e15 up it writes a
/// mantissa and exponent ("2.5e-7"), where a row of zeros would hide the size.
pub fn fmt_sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = digits.max(1);
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..15).contains(&magnitude) {
        let s = format!("{:.*e}", digits - 1, x);
        // "2.50e-7" → "2.5e-7": the mantissa loses its trailing zeros.
        return match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m.to_owned())),
            None => s,
        };
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let plain = trim_zeros(format!("{x:.decimals$}"));
    // Rounding can carry into a new digit ("9.996" → "10.0"): still `digits` figures.
    group_integer_part(&plain)
}

/// `x` with a k / M / G / T suffix past a thousand and significant digits below one:
/// 1 → "1", 1000 → "1k", 2.5e6 → "2.5M", 0.01 → "0.01". For log-axis ticks, where
/// the decade matters more than the digits.
pub fn fmt_compact(x: f64) -> String {
    let a = x.abs();
    let scaled = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .iter()
        .find(|(unit, _)| a >= *unit * (1.0 - 1e-9));
    match scaled {
        Some((unit, suffix)) => format!("{}{suffix}", fmt_sig(x / unit, 3)),
        None => fmt_sig(x, 3),
    }
}

/// `a` and `b` to at least `digits` significant digits, and more where fewer would
/// write two different numbers the same (1.2341 and 1.2342 → "1.2341", "1.2342"
/// rather than "1.23" twice), so neighbouring figures that differ read as different.
pub fn fmt_sig_pair(a: f64, b: f64, digits: usize) -> (String, String) {
    let mut d = digits.max(1);
    loop {
        let (sa, sb) = (fmt_sig(a, d), fmt_sig(b, d));
        // f64 carries 17 significant digits: past that two values cannot differ in print.
        if sa != sb || a == b || d >= 17 {
            return (sa, sb);
        }
        d += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        s.replace(' ', &THIN_SPACE.to_string())
    }

    #[test]
    fn thousands_are_grouped_by_a_thin_space() {
        assert_eq!(thousands(5_000_000), t("5 000 000"));
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), t("1 000"));
        assert_eq!(thousands(0), "0");
        assert_eq!(fmt_sig(-12_345.0, 5), t("-12 345"));
    }

    #[test]
    fn significant_digits_not_fixed_decimals() {
        assert_eq!(fmt_sig(6.374_013_003, 3), "6.37");
        assert_eq!(fmt_sig(0.000_001, 3), "1e-6");
        assert_eq!(fmt_sig(0.000_001_234_5, 3), "1.23e-6");
        assert_eq!(fmt_sig(0.000_123_4, 3), "0.000123");
        assert_eq!(fmt_sig(2.0, 3), "2");
        assert_eq!(fmt_sig(0.5, 3), "0.5");
        assert_eq!(fmt_sig(9.996, 3), "10");
        assert_eq!(fmt_sig(1234.5678, 3), t("1 235"));
        assert_eq!(fmt_sig(2.5e-7, 3), "2.5e-7");
        assert_eq!(fmt_sig(0.0, 3), "0");
        assert_eq!(fmt_sig(f64::NAN, 3), "NaN");
    }

    #[test]
    fn neighbours_that_differ_read_differently() {
        assert_eq!(fmt_sig_pair(3.351, 3.9, 3), ("3.35".into(), "3.9".into()));
        assert_eq!(
            fmt_sig_pair(1.234_1, 1.234_2, 3),
            ("1.2341".into(), "1.2342".into())
        );
        assert_eq!(fmt_sig_pair(2.0, 2.0, 3), ("2".into(), "2".into()));
        assert_eq!(
            fmt_sig_pair(0.100_01, 0.1, 3),
            ("0.10001".into(), "0.1".into())
        );
    }

    #[test]
    fn compact_labels_for_log_ticks() {
        assert_eq!(fmt_compact(1.0), "1");
        assert_eq!(fmt_compact(10.0), "10");
        assert_eq!(fmt_compact(100.0), "100");
        assert_eq!(fmt_compact(1000.0), "1k");
        assert_eq!(fmt_compact(10_000.0), "10k");
        assert_eq!(fmt_compact(1e6), "1M");
        assert_eq!(fmt_compact(2.5e9), "2.5G");
        assert_eq!(fmt_compact(0.1), "0.1");
        assert_eq!(fmt_compact(0.01), "0.01");
        // 10^3 computed as a power lands a hair under 1000 and is still "1k".
        assert_eq!(fmt_compact(10f64.powf(3.0 - 1e-12)), "1k");
    }
}
