//! Model layer: the offers a plan's `hardware_candidates` name, resolved in a catalog,
//! and each one's case for the hardware sweep with its L(b) scaled from the plan's
//! stated accelerator — the one path `costscope plan --hardware` (without `--profile`)
//! and the app's Hardware panel share, so both show the same figures.

use super::catalog::{Accelerator, Catalog, Offer};
use super::hardware_scale::{scaled_curve, stated_accelerator};
use super::hardware_sweep::OfferCase;
use super::{HardwareCandidates, Plan};

/// The offer `name` names: its `provider instance_type` (case ignored), else the one
/// offer whose label contains it; the error says which names matched, or none.
pub fn find_offer<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Offer, String> {
    if let Some(o) = (catalog.offers.iter()).find(|o| o.label().eq_ignore_ascii_case(name)) {
        return Ok(o);
    }
    let lower = name.to_ascii_lowercase();
    let hits: Vec<&Offer> = (catalog.offers.iter())
        .filter(|o| o.label().to_ascii_lowercase().contains(&lower))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no offer '{name}' in the catalog (see costscope hardware)"
        )),
        many => Err(format!(
            "'{name}' matches {} offers ({}); name one",
            many.len(),
            (many.iter().map(|o| o.label()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The offers the candidates name, in catalog order for `All`.
pub fn candidate_offers<'a>(
    catalog: &'a Catalog,
    c: &HardwareCandidates,
) -> Result<Vec<&'a Offer>, String> {
    match c {
        HardwareCandidates::All => Ok(catalog.offers.iter().collect()),
        HardwareCandidates::Offers(names) => names.iter().map(|n| find_offer(catalog, n)).collect(),
    }
}

/// The error when the plan's `hardware.name` names no catalog accelerator.
pub fn no_stated_accelerator(plan: &Plan) -> String {
    format!(
        "the plan's hardware.name '{}' names no catalog accelerator; give --profile REPORT to project measured rows, or name the accelerator in hardware.name (e.g. \"L4 (g6.xlarge)\")",
        plan.hardware.name
    )
}

/// Every candidate offer's case with the plan's L(b) scaled from the accelerator its
/// `hardware.name` names (returned beside them: an LLM's iteration time is scaled
/// from it too); an offer whose accelerator the catalog lacks is an error.
pub fn scaled_cases<'a>(
    plan: &Plan,
    catalog: &'a Catalog,
    candidates: &HardwareCandidates,
) -> Result<(Vec<OfferCase>, &'a Accelerator), String> {
    let stated = stated_accelerator(catalog, &plan.hardware.name)
        .ok_or_else(|| no_stated_accelerator(plan))?;
    let cases = candidate_offers(catalog, candidates)?
        .into_iter()
        .map(|o| {
            let acc = catalog
                .accelerator(&o.accelerator)
                .ok_or_else(|| format!("offer '{}': unknown accelerator", o.label()))?;
            Ok(OfferCase {
                offer: o.clone(),
                accelerator: acc.clone(),
                curve: scaled_curve(plan, stated, acc),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((cases, stated))
}
