//! App layer: the plots' colours — one per policy and one per series (device,
//! precision) wherever it is drawn, from the Okabe–Ito palette, which stays distinct
//! under the common colour-vision deficiencies.

use eframe::egui::Color32;

use crate::model::PolicyKind;

/// Okabe–Ito blue.
pub const BLUE: Color32 = Color32::from_rgb(0x00, 0x72, 0xB2);
/// Okabe–Ito orange.
pub const ORANGE: Color32 = Color32::from_rgb(0xE6, 0x9F, 0x00);
/// Okabe–Ito bluish green.
pub const GREEN: Color32 = Color32::from_rgb(0x00, 0x9E, 0x73);
/// Okabe–Ito reddish purple.
pub const PURPLE: Color32 = Color32::from_rgb(0xCC, 0x79, 0xA7);
/// Okabe–Ito sky blue.
pub const SKY: Color32 = Color32::from_rgb(0x56, 0xB4, 0xE9);
/// Okabe–Ito vermillion.
pub const VERMILLION: Color32 = Color32::from_rgb(0xD5, 0x5E, 0x00);
/// Okabe–Ito yellow (pale on a light background: last in the cycle).
pub const YELLOW: Color32 = Color32::from_rgb(0xF0, 0xE4, 0x42);
/// A mid grey, readable on dark and light themes (Okabe–Ito's black is not).
pub const GREY: Color32 = Color32::from_rgb(0x88, 0x88, 0x88);

/// The series cycle: the policies' four first, so series and policies look alike.
const CYCLE: [Color32; 7] = [BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW];

/// The optimum's marker: a colour no policy has.
pub const OPTIMUM: Color32 = VERMILLION;

/// The Pareto frontier's line: neutral, under the policies' own colours.
pub const FRONTIER: Color32 = GREY;

/// The colour of `policy` in every plot.
pub fn policy_color(policy: PolicyKind) -> Color32 {
    match policy {
        PolicyKind::AlwaysOn => BLUE,
        PolicyKind::OnDemand => ORANGE,
        PolicyKind::Hybrid => GREEN,
        PolicyKind::SpotMix => PURPLE,
    }
}

/// The colour of the `i`-th series (a device × precision of a report, an operator),
/// cycling after seven.
pub fn series_color(i: usize) -> Color32 {
    CYCLE[i % CYCLE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_policy_has_its_own_colour_and_none_is_the_optimum() {
        let colors: Vec<Color32> = PolicyKind::ALL.iter().map(|p| policy_color(*p)).collect();
        for (i, a) in colors.iter().enumerate() {
            assert_ne!(*a, OPTIMUM);
            assert_ne!(*a, FRONTIER);
            assert!(colors[i + 1..].iter().all(|b| b != a), "{colors:?}");
        }
    }

    #[test]
    fn series_colours_cycle_through_distinct_ones() {
        let first: Vec<Color32> = (0..CYCLE.len()).map(series_color).collect();
        for (i, a) in first.iter().enumerate() {
            assert!(first[i + 1..].iter().all(|b| b != a));
        }
        assert_eq!(series_color(CYCLE.len()), series_color(0));
    }
}
