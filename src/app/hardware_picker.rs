//! App layer: the Hardware panel's picker — the catalog's offers narrowed by a search
//! text and by memory and price (the catalog's own `CatalogFilter`), each with a box
//! that adds it to or drops it from the plan's `hardware_candidates`. Ticking edits
//! the plan, so the window's history makes every change one undo step.

use eframe::egui;

use super::format::fmt_sig;
use super::hardware_ui::HardwareSettings;
use crate::model::catalog::{Catalog, CatalogFilter, Offer};
use crate::model::{HardwareCandidates, Plan};

/// The offers passing the settings' filters, in catalog order.
pub fn shown_offers<'a>(catalog: &'a Catalog, s: &HardwareSettings) -> Vec<&'a Offer> {
    let filter = CatalogFilter {
        vendor: None,
        min_memory_gb: (s.min_memory_gb > 0.0).then_some(s.min_memory_gb),
        max_usd_per_hour: (s.max_usd_per_hour > 0.0).then_some(s.max_usd_per_hour),
    };
    let kept = catalog.filtered(&filter);
    let needle = s.search.trim().to_ascii_lowercase();
    (catalog.offers.iter())
        .filter(|o| kept.offers.contains(o))
        .filter(|o| {
            needle.is_empty()
                || o.label().to_ascii_lowercase().contains(&needle)
                || o.accelerator.to_ascii_lowercase().contains(&needle)
        })
        .collect()
}

/// Is `offer` among the plan's candidates? (`All` holds every offer.)
pub fn is_candidate(plan: &Plan, offer: &Offer) -> bool {
    match &plan.hardware_candidates {
        None => false,
        Some(HardwareCandidates::All) => true,
        Some(HardwareCandidates::Offers(names)) => {
            names.iter().any(|n| n.eq_ignore_ascii_case(&offer.label()))
        }
    }
}

/// The plan with `offer` added to (`on`) or dropped from its candidates. `All` becomes
/// the explicit list of every other offer when one is dropped; dropping the last leaves
/// the plan without candidates (validation refuses an empty list).
pub fn set_candidate(plan: &mut Plan, catalog: &Catalog, offer: &Offer, on: bool) {
    let label = offer.label();
    let mut names: Vec<String> = match &plan.hardware_candidates {
        None => Vec::new(),
        Some(HardwareCandidates::All) => catalog.offers.iter().map(Offer::label).collect(),
        Some(HardwareCandidates::Offers(n)) => n.clone(),
    };
    names.retain(|n| !n.eq_ignore_ascii_case(&label));
    if on {
        names.push(label);
    }
    plan.hardware_candidates = if names.is_empty() {
        None
    } else {
        Some(HardwareCandidates::Offers(names))
    };
}

/// The search box, the two filters, "all offers" / "none", and one box per shown offer.
pub fn picker_ui(ui: &mut egui::Ui, s: &mut HardwareSettings, catalog: &Catalog, plan: &mut Plan) {
    ui.heading("Hardware candidates");
    ui.label("Offers the optimiser may choose among (the plan's hardware_candidates).");
    ui.horizontal(|ui| {
        ui.label("search");
        ui.add(egui::TextEdit::singleline(&mut s.search).hint_text("H100, RunPod, L4 ..."))
            .on_hover_text("Offers whose name or accelerator contains this text.");
    });
    ui.add(
        egui::Slider::new(&mut s.min_memory_gb, 0.0..=192.0)
            .text("min memory, GB (0: any)")
            .step_by(8.0),
    );
    ui.add(
        egui::Slider::new(&mut s.max_usd_per_hour, 0.0..=100.0)
            .logarithmic(true)
            .max_decimals(2)
            .text("max $/hour per instance (0: any)"),
    );
    ui.horizontal(|ui| {
        let all = plan.hardware_candidates == Some(HardwareCandidates::All);
        if ui
            .selectable_label(all, "all offers")
            .on_hover_text("The optimiser searches every catalog offer.")
            .clicked()
        {
            plan.hardware_candidates = Some(HardwareCandidates::All);
        }
        if ui
            .button("none")
            .on_hover_text("The plan names no candidates (the panel then shows every offer).")
            .clicked()
        {
            plan.hardware_candidates = None;
        }
    });
    let shown = shown_offers(catalog, s);
    ui.label(format!(
        "{} of {} offers shown",
        shown.len(),
        catalog.offers.len()
    ));
    egui::Grid::new("hardware_offers")
        .striped(true)
        .show(ui, |ui| {
            for h in ["offer", "GB", "$/h"] {
                ui.strong(h);
            }
            ui.end_row();
            for o in shown {
                let mut on = is_candidate(plan, o);
                let tick = ui.checkbox(&mut on, o.label());
                if tick
                    .on_hover_text("Search this offer for the plan.")
                    .changed()
                {
                    set_candidate(plan, catalog, o, on);
                }
                let gb = catalog
                    .accelerator(&o.accelerator)
                    .and_then(|a| a.memory_gb);
                ui.label(gb.map_or("-".into(), |g| fmt_sig(g, 3)));
                ui.label(fmt_sig(o.on_demand_usd_per_hour, 3));
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_narrow_the_offers_and_ticks_edit_the_candidates() {
        let catalog = crate::plan::catalog::shipped().unwrap();
        let mut s = HardwareSettings::default();
        assert_eq!(shown_offers(&catalog, &s).len(), catalog.offers.len());
        s.search = "h100".into();
        let h100 = shown_offers(&catalog, &s);
        assert!(!h100.is_empty() && h100.len() < catalog.offers.len());
        assert!(
            h100.iter()
                .all(|o| o.accelerator.to_ascii_lowercase().contains("h100")
                    || o.label().to_ascii_lowercase().contains("h100"))
        );
        s.search.clear();
        s.min_memory_gb = 80.0;
        s.max_usd_per_hour = 3.0;
        for o in shown_offers(&catalog, &s) {
            let gb = catalog
                .accelerator(&o.accelerator)
                .unwrap()
                .memory_gb
                .unwrap();
            assert!(
                gb >= 80.0 && o.on_demand_usd_per_hour <= 3.0,
                "{}",
                o.label()
            );
        }
        let mut plan = crate::plan::presets::default_plan().unwrap();
        let (a, b) = (&catalog.offers[0], &catalog.offers[1]);
        set_candidate(&mut plan, &catalog, a, true);
        set_candidate(&mut plan, &catalog, b, true);
        assert!(is_candidate(&plan, a) && is_candidate(&plan, b));
        crate::plan::validate(&plan).unwrap();
        set_candidate(&mut plan, &catalog, a, false);
        assert_eq!(
            plan.hardware_candidates,
            Some(HardwareCandidates::Offers(vec![b.label()]))
        );
        set_candidate(&mut plan, &catalog, b, false);
        assert_eq!(plan.hardware_candidates, None);
        plan.hardware_candidates = Some(HardwareCandidates::All);
        set_candidate(&mut plan, &catalog, a, false);
        let Some(HardwareCandidates::Offers(n)) = &plan.hardware_candidates else {
            panic!()
        };
        assert_eq!(n.len(), catalog.offers.len() - 1);
        crate::plan::validate(&plan).unwrap();
    }
}
