//! App layer: undo / redo of plan edits. At the end of each frame the plan is compared
//! with the last one recorded; a change is an undo step, and one continuous drag of a
//! control (or quick repeated changes of the same fields) is one step. Runtime only:
//! the history is not persisted between runs.

use std::collections::VecDeque;

use eframe::egui;
use serde_json::Value;

use crate::model::Plan;

/// How many undo steps are kept; the oldest is dropped beyond it.
pub const CAPACITY: usize = 200;

/// Changes of the same fields closer than this to the last one join its step (typing
/// digits, arrow keys on a slider), seconds.
pub const COALESCE_S: f64 = 0.5;

/// The step being extended: which fields it changes and when it last changed.
#[derive(Debug, Clone)]
struct Open {
    /// The leaf paths the step's first change touched.
    fields: Vec<String>,
    /// Input time of its latest change, seconds.
    last_change_s: f64,
}

/// The plans before each edit (undo) and after each undone one (redo).
#[derive(Debug, Clone)]
pub struct PlanHistory {
    /// Plans to go back to, oldest first; at most `capacity`.
    undo: VecDeque<Plan>,
    /// Plans to go forward to, the next last.
    redo: Vec<Plan>,
    /// The plan as last recorded: what this frame's plan is compared with.
    last: Plan,
    /// The saved copy as last seen, to tell opening a file from an edit.
    last_saved: Plan,
    /// The latest step while it may still grow.
    open: Option<Open>,
    /// How many undo steps are kept.
    pub capacity: usize,
    /// The coalescing window, seconds (tests set 0 to see drags coalesce on their own).
    pub coalesce_s: f64,
}

impl PlanHistory {
    /// An empty history starting at `plan`, whose saved copy is `saved`.
    pub fn new(plan: &Plan, saved: &Plan) -> Self {
        Self {
            undo: VecDeque::new(),
            redo: Vec::new(),
            last: plan.clone(),
            last_saved: saved.clone(),
            open: None,
            capacity: CAPACITY,
            coalesce_s: COALESCE_S,
        }
    }

    /// Records the end of a frame in the window: a pointer held down or a widget being
    /// dragged keeps the latest step open.
    pub fn end_frame(&mut self, ctx: &egui::Context, plan: &Plan, saved: &Plan) {
        let dragging = ctx.input(|i| i.pointer.any_down()) || ctx.dragged_id().is_some();
        let now_s = ctx.input(|i| i.time);
        self.record(plan, saved, dragging, now_s);
    }

    /// Records `plan` as of `now_s`. A change of the plan in the same frame as its saved
    /// copy, to the saved copy, is a file opened: the history starts anew there. A
    /// change of the same fields as the open step, while `dragging` or within the
    /// coalescing window, joins that step; any other change is a new step and clears
    /// the redo list.
    pub fn record(&mut self, plan: &Plan, saved: &Plan, dragging: bool, now_s: f64) {
        let saved_changed = *saved != self.last_saved;
        if saved_changed {
            self.last_saved = saved.clone();
        }
        if *plan == self.last {
            if !dragging {
                // A frame without change (or after a release) ends the step over time.
                self.open
                    .take_if(|o| now_s - o.last_change_s > self.coalesce_s);
            }
            return;
        }
        if saved_changed && plan == saved {
            *self = Self {
                capacity: self.capacity,
                coalesce_s: self.coalesce_s,
                ..Self::new(plan, saved)
            };
            return;
        }
        let fields = changed_fields(&self.last, plan);
        let joins = self.open.as_ref().is_some_and(|o| {
            o.fields == fields && (dragging || now_s - o.last_change_s <= self.coalesce_s)
        });
        if joins {
            if self.undo.back() == Some(plan) {
                // Dragged back to where it started: no step at all.
                self.undo.pop_back();
                self.open = None;
            }
        } else {
            self.undo.push_back(self.last.clone());
            while self.undo.len() > self.capacity {
                self.undo.pop_front();
            }
            self.open = Some(Open {
                fields,
                last_change_s: now_s,
            });
        }
        if let Some(open) = &mut self.open {
            open.last_change_s = now_s;
        }
        self.redo.clear();
        self.last = plan.clone();
    }

    /// Whether there is an edit to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is an undone edit to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// How many undo steps are kept now.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Puts `plan` back as it was before the latest edit; false when there is none.
    pub fn undo(&mut self, plan: &mut Plan) -> bool {
        let Some(before) = self.undo.pop_back() else {
            return false;
        };
        self.redo.push(std::mem::replace(plan, before));
        self.last = plan.clone();
        self.open = None;
        true
    }

    /// Re-applies the latest undone edit to `plan`; false when there is none.
    pub fn redo(&mut self, plan: &mut Plan) -> bool {
        let Some(after) = self.redo.pop() else {
            return false;
        };
        self.undo.push_back(std::mem::replace(plan, after));
        self.last = plan.clone();
        self.open = None;
        true
    }

    /// The edit undo would take back from `plan`, e.g. "Undo: objective.beta 0.001 →
    /// 0.5" (the edit as made, the values as the plan holds them); none when there is
    /// nothing to undo.
    pub fn undo_text(&self, plan: &Plan) -> Option<String> {
        let before = self.undo.back()?;
        Some(format!("Undo: {}", describe(before, plan)))
    }

    /// The edit redo would make to `plan` again, like [`Self::undo_text`].
    pub fn redo_text(&self, plan: &Plan) -> Option<String> {
        let after = self.redo.last()?;
        Some(format!("Redo: {}", describe(plan, after)))
    }
}

/// The fields that differ from `from` to `to`, each as `path old → new` (one field),
/// else their paths (at most three named).
pub fn describe(from: &Plan, to: &Plan) -> String {
    let (a, b) = (to_value(from), to_value(to));
    let mut diffs = Vec::new();
    diff(&a, &b, String::new(), &mut diffs);
    match diffs.as_slice() {
        [] => "no change".into(),
        [(path, old, new)] => format!("{path} {} → {}", short(old), short(new)),
        many => {
            let names: Vec<&str> = many.iter().take(3).map(|d| d.0.as_str()).collect();
            let more = many.len().saturating_sub(3);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{}{tail}", names.join(", "))
        }
    }
}

/// The leaf paths that differ from `from` to `to` (`service.batch_latency_ms`).
fn changed_fields(from: &Plan, to: &Plan) -> Vec<String> {
    let mut diffs = Vec::new();
    diff(&to_value(from), &to_value(to), String::new(), &mut diffs);
    diffs.into_iter().map(|d| d.0).collect()
}

/// The plan as JSON, to walk its fields by name; a plan always serializes (null else).
fn to_value(plan: &Plan) -> Value {
    serde_json::to_value(plan).unwrap_or(Value::Null)
}

/// Appends (path, old, new) for each leaf differing between `a` and `b`. Objects with
/// the same keys are walked into; anything else (numbers, lists, an enum's other
/// variant) is one leaf.
fn diff(a: &Value, b: &Value, path: String, out: &mut Vec<(String, Value, Value)>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            for (key, va) in x {
                let vb = y.get(key).unwrap_or(&Value::Null);
                // An enum's variant name adds nothing a reader needs to the path.
                let child = if path.is_empty() {
                    key.clone()
                } else if key.starts_with(char::is_uppercase) {
                    path.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff(va, vb, child, out);
            }
        }
        _ => out.push((path, a.clone(), b.clone())),
    }
}

/// A value for a tooltip: its JSON text, cut at 40 characters.
fn short(v: &Value) -> String {
    const MAX_CHARS: usize = 40;
    let text = v.to_string();
    if text.chars().count() > MAX_CHARS {
        let cut: String = text.chars().take(MAX_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        crate::plan::presets::default_plan().unwrap()
    }

    #[test]
    fn the_history_keeps_at_most_its_capacity_and_undoes_the_newest_first() {
        let start = plan();
        let mut h = PlanHistory::new(&start, &start);
        let mut p = start.clone();
        for i in 0..(CAPACITY + 50) {
            p.objective.alpha = i as f64 + 1.0;
            // A second apart: each change is its own step.
            h.record(&p, &start, false, i as f64 * 2.0);
        }
        assert_eq!(h.undo_len(), CAPACITY);
        let mut undone = 0;
        while h.undo(&mut p) {
            undone += 1;
        }
        assert_eq!(undone, CAPACITY);
        // The oldest 50 steps were dropped: the earliest plan reachable is step 50's.
        assert_eq!(p.objective.alpha, 50.0);
        assert!(!h.can_undo() && h.can_redo());
    }

    #[test]
    fn quick_changes_of_one_field_are_one_step_and_another_field_is_a_new_one() {
        let start = plan();
        let mut h = PlanHistory::new(&start, &start);
        let mut p = start.clone();
        for i in 0..10 {
            p.objective.beta = 0.1 * f64::from(i + 1);
            h.record(&p, &start, false, 0.1 * f64::from(i));
        }
        assert_eq!(h.undo_len(), 1);
        p.objective.alpha = 3.0;
        h.record(&p, &start, false, 1.1);
        assert_eq!(h.undo_len(), 2);
        let text = h.undo_text(&p).unwrap();
        assert!(text.starts_with("Undo: objective.alpha "), "{text}");
        assert!(text.ends_with("→ 3.0"), "{text}");
        h.undo(&mut p);
        h.undo(&mut p);
        assert_eq!(p, start);
    }

    #[test]
    fn an_edit_after_undo_clears_redo_and_an_open_file_starts_anew() {
        let start = plan();
        let mut h = PlanHistory::new(&start, &start);
        let mut p = start.clone();
        p.objective.alpha = 2.0;
        h.record(&p, &start, false, 0.0);
        h.undo(&mut p);
        assert!(h.can_redo());
        p.objective.beta = 0.9;
        h.record(&p, &start, false, 5.0);
        assert!(!h.can_redo() && h.can_undo());
        // Opening a file replaces the plan and its saved copy in one frame.
        let opened = crate::plan::presets::load("textbook-mmc").unwrap();
        h.record(&opened, &opened, false, 6.0);
        assert!(!h.can_undo() && !h.can_redo());
        // Saving changes only the saved copy: the history stays.
        let mut q = opened.clone();
        q.objective.alpha = 5.0;
        h.record(&q, &opened, false, 7.0);
        h.record(&q, &q, false, 8.0);
        assert!(h.can_undo());
    }
}
