//! From the values a stream made to what loading it would import and
//! decide at load time. Every node is looked at, including values the
//! stream popped and dropped: CPython imported and called them all the
//! same.

use std::collections::HashSet;

use super::calls::{planted_method, refused_arguments};
use super::danger::danger;
use super::python2::python3_name;
use super::{Import, Note, NoteKind, Verdict};
use crate::allowlist::Allowlist;
use crate::value::{Node, NodeId, Values};

/// How much of a value a note quotes.
const DETAIL_LEN: usize = 120;

/// An import as it counts for doing away with repeats: module, name, and
/// the spelling written.
type ImportKey = (String, String, Option<(String, String)>);

/// Imports and notes, each once, in the order the stream made them.
#[derive(Default)]
struct Found {
    imports: Vec<Import>,
    notes: Vec<Note>,
    seen_imports: HashSet<ImportKey>,
    seen_notes: HashSet<(NoteKind, String)>,
    persistent_ids: usize,
}

impl Found {
    fn import(&mut self, import: Import) {
        let key = (import.module.clone(), import.name.clone(), import.written.clone());
        if self.seen_imports.insert(key) {
            self.imports.push(import);
        }
    }

    fn note(&mut self, kind: NoteKind, detail: String, verdict: Verdict) {
        if self.seen_notes.insert((kind, detail.clone())) {
            self.notes.push(Note { kind, detail, verdict });
        }
    }
}

pub(super) fn findings(values: &Values, allow: &Allowlist) -> (Vec<Import>, Vec<Note>) {
    let mut found = Found::default();
    let render = |id: NodeId| values.render(id, DETAIL_LEN);
    for (id, node) in values.nodes() {
        let below_3 = values.protocol_at(id).unwrap_or(0) < 3;
        match node {
            Node::Global { module, name } | Node::Inst { module, name, .. } => {
                found.import(classify(module, name, below_3, allow));
            }
            Node::DynamicGlobal { module, name } => match legacy_name(values, *module, *name) {
                Some((module, name)) => found.import(classify(&module, &name, below_3, allow)),
                None => found.note(NoteKind::DynamicGlobal, render(id), Verdict::Unknown),
            },
            Node::Ext(code) => {
                let detail = format!("ext({code}), whatever copyreg's registry maps it to");
                found.note(NoteKind::Extension, detail, Verdict::Unknown);
            }
            Node::Reduce { callable: called, .. }
            | Node::NewObj { cls: called, .. }
            | Node::NewObjEx { cls: called, .. }
            | Node::Obj { cls: called, .. }
                if !is_named(values, *called) =>
            {
                found.note(NoteKind::ComputedCall, render(*called), Verdict::Unknown);
            }
            Node::Build { target, .. } if is_global(values, *target) => {
                found.note(NoteKind::ModifiesGlobal, render(*target), Verdict::Dangerous);
            }
            Node::PersId(_) => found.persistent_ids += 1,
            _ => {}
        }
        let call = refused_arguments(values, node, below_3, allow);
        if let Some(note) = call.or_else(|| planted_method(values, node)) {
            found.note(note.kind, note.detail, note.verdict);
        }
        if values.added_items(id).is_some() && is_global(values, id) {
            found.note(NoteKind::ModifiesGlobal, render(id), Verdict::Dangerous);
        }
    }
    if found.persistent_ids > 0 {
        let detail = format!(
            "{} persistent id(s), resolved by the loading program's persistent_load",
            found.persistent_ids
        );
        found.note(NoteKind::PersistentId, detail, Verdict::Safe);
    }
    (found.imports, found.notes)
}

/// Judges `module.name` under the name Python 3 imports for it.
fn classify(module: &str, name: &str, below_3: bool, allow: &Allowlist) -> Import {
    let renamed = if below_3 { python3_name(module, name) } else { None };
    let (imported, written) = match renamed {
        Some((new_module, new_name)) => {
            ((new_module.to_owned(), new_name), Some((module.to_owned(), name.to_owned())))
        }
        None => ((module.to_owned(), name.to_owned()), None),
    };
    let (module, name) = imported;
    let (verdict, why) = if allow.allows(&module, &name) {
        (Verdict::Safe, None)
    } else if let Some(why) = danger(&module, &name) {
        (Verdict::Dangerous, Some(why))
    } else {
        (Verdict::Unknown, None)
    };
    Import { module, name, written, verdict, why }
}

/// STACK_GLOBAL on two Python 2 strings of ASCII: CPython decodes them
/// with the default `encoding="ASCII"` (or any ASCII-compatible one) and
/// imports that name. Other encodings are the loader's choice: unknown.
fn legacy_name(values: &Values, module: NodeId, name: NodeId) -> Option<(String, String)> {
    let text = |id| match values.get(id) {
        Some(Node::LegacyStr(bytes)) if bytes.is_ascii() => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        _ => None,
    };
    Some((text(module)?, text(name)?))
}

/// A global as such, seen through BUILD wrappers (BUILD keeps the object
/// it updated).
fn is_global(values: &Values, id: NodeId) -> bool {
    matches!(
        values.get(unwrap_build(values, id)),
        Some(Node::Global { .. } | Node::DynamicGlobal { .. })
    )
}

/// Whether a called value is a global the stream names (judged as an
/// import or noted already), rather than a value made at load time.
fn is_named(values: &Values, id: NodeId) -> bool {
    matches!(
        values.get(unwrap_build(values, id)),
        Some(Node::Global { .. } | Node::DynamicGlobal { .. } | Node::Ext(_))
    )
}

/// Each BUILD's target is an older node, so the walk ends.
fn unwrap_build(values: &Values, mut id: NodeId) -> NodeId {
    while let Some(Node::Build { target, .. }) = values.get(id) {
        id = *target;
    }
    id
}
