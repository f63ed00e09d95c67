//! JSON-shaped values in automerge documents.
//!
//! Records are written field by field into maps, never replaced wholesale, so concurrent edits to
//! different fields merge and concurrent edits to one field are kept side by side (and shown as
//! conflicts). Reading turns a map back into `serde_json::Value` for typed access.

use crate::error::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, Prop, ReadDoc, ScalarValue, Value, ValueRef};
use serde_json::{Map, Number, Value as Json};

fn am_err(e: automerge::AutomergeError) -> Error {
    Error::storage_msg(format!("document update failed: {e}"))
}

/// The map at `key` under `parent`, created if missing.
pub fn ensure_map<T: Transactable + ReadDoc>(
    tx: &mut T,
    parent: &ObjId,
    key: &str,
) -> Result<ObjId> {
    match tx.get(parent, key).map_err(am_err)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => tx.put_object(parent, key, ObjType::Map).map_err(am_err),
    }
}

/// Write `value` at `prop` under `parent`. Objects merge into an existing map field by field;
/// arrays and scalars replace what was there.
pub fn write<T: Transactable + ReadDoc>(
    tx: &mut T,
    parent: &ObjId,
    prop: Prop,
    value: &Json,
) -> Result<()> {
    match value {
        Json::Object(fields) => {
            let existing = tx.get(parent, prop.clone()).map_err(am_err)?;
            let map = match existing {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => put_object(tx, parent, prop, ObjType::Map)?,
            };
            for (k, v) in fields {
                write(tx, &map, Prop::Map(k.clone()), v)?;
            }
            Ok(())
        }
        Json::Array(items) => {
            let list = put_object(tx, parent, prop, ObjType::List)?;
            for (i, v) in items.iter().enumerate() {
                insert(tx, &list, i, v)?;
            }
            Ok(())
        }
        scalar => match prop {
            Prop::Map(k) => tx.put(parent, k, to_scalar(scalar)).map_err(am_err),
            Prop::Seq(i) => tx.put(parent, i, to_scalar(scalar)).map_err(am_err),
        },
    }
}

/// Insert `value` at position `i` of `list`, building nested maps and lists as needed.
fn insert<T: Transactable + ReadDoc>(
    tx: &mut T,
    list: &ObjId,
    i: usize,
    value: &Json,
) -> Result<()> {
    match value {
        Json::Object(fields) => {
            let map = tx.insert_object(list, i, ObjType::Map).map_err(am_err)?;
            for (k, v) in fields {
                write(tx, &map, Prop::Map(k.clone()), v)?;
            }
            Ok(())
        }
        Json::Array(items) => {
            let inner = tx.insert_object(list, i, ObjType::List).map_err(am_err)?;
            for (j, v) in items.iter().enumerate() {
                insert(tx, &inner, j, v)?;
            }
            Ok(())
        }
        scalar => tx.insert(list, i, to_scalar(scalar)).map_err(am_err),
    }
}

fn put_object<T: Transactable>(
    tx: &mut T,
    parent: &ObjId,
    prop: Prop,
    kind: ObjType,
) -> Result<ObjId> {
    match prop {
        Prop::Map(k) => tx.put_object(parent, k, kind).map_err(am_err),
        Prop::Seq(i) => tx.put_object(parent, i, kind).map_err(am_err),
    }
}

fn to_scalar(v: &Json) -> ScalarValue {
    match v {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Array(_) | Json::Object(_) => ScalarValue::Null,
    }
}

fn from_scalar(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Null => Json::Null,
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Int(i) => Json::Number((*i).into()),
        ScalarValue::Uint(u) => Json::Number((*u).into()),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ScalarValue::Counter(c) => Json::Number(i64::from(c).into()),
        ScalarValue::Timestamp(t) => Json::Number((*t).into()),
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Bytes(b) => Json::String(data_encoding::BASE64.encode(b)),
        _ => Json::Null,
    }
}

/// Read the object `obj` as JSON.
pub fn read<D: ReadDoc>(doc: &D, obj: &ObjId) -> Json {
    match doc.object_type(obj) {
        // One pass over each object: looking keys up one by one costs a seek per key, which
        // made indexing a large learner document the slowest step of receiving a sync.
        Ok(ObjType::Map) | Ok(ObjType::Table) => Json::Object(
            doc.map_range(obj, ..)
                .map(|item| {
                    let value = value_ref_to_json(doc, &item.value, || item.id());
                    (item.key.into_owned(), value)
                })
                .collect::<Map<String, Json>>(),
        ),
        Ok(ObjType::List) => Json::Array(
            doc.list_range(obj, ..)
                .map(|item| value_ref_to_json(doc, &item.value, || item.id()))
                .collect(),
        ),
        Ok(ObjType::Text) => Json::String(doc.text(obj).unwrap_or_default()),
        Err(_) => Json::Null,
    }
}

fn value_ref_to_json<D: ReadDoc>(doc: &D, v: &ValueRef<'_>, id: impl FnOnce() -> ObjId) -> Json {
    match v {
        ValueRef::Object(_) => read(doc, &id()),
        ValueRef::Scalar(s) => from_scalar(&ScalarValue::from(s.clone())),
    }
}

fn value_to_json<D: ReadDoc>(doc: &D, v: Value<'_>, id: &ObjId) -> Json {
    match v {
        Value::Object(_) => read(doc, id),
        Value::Scalar(s) => from_scalar(&s),
    }
}

/// Read the map at a path of keys from the root, or `None` if missing.
pub fn read_path<D: ReadDoc>(doc: &D, path: &[&str]) -> Option<Json> {
    let mut obj = automerge::ROOT;
    for (i, key) in path.iter().enumerate() {
        let (v, id) = doc.get(&obj, *key).ok()??;
        if i + 1 == path.len() {
            return Some(value_to_json(doc, v, &id));
        }
        obj = id;
    }
    Some(read(doc, &obj))
}

/// The object id at a path of map keys, if present.
pub fn obj_at<D: ReadDoc>(doc: &D, path: &[&str]) -> Option<ObjId> {
    let mut obj = automerge::ROOT;
    for key in path {
        let (_, id) = doc.get(&obj, *key).ok()??;
        obj = id;
    }
    Some(obj)
}

/// A place where concurrent edits left more than one value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// Map keys from the document root.
    pub path: Vec<String>,
    /// Every value kept, in automerge's order (the first is the one shown by default).
    pub values: Vec<Json>,
}

/// Every map key in the document that holds more than one concurrent value.
pub fn conflicts<D: ReadDoc>(doc: &D) -> Vec<Conflict> {
    let mut out = Vec::new();
    walk_conflicts(doc, &automerge::ROOT, &mut Vec::new(), &mut out, 0);
    out
}

fn walk_conflicts<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    path: &mut Vec<String>,
    out: &mut Vec<Conflict>,
    depth: usize,
) {
    if depth > 16 || !matches!(doc.object_type(obj), Ok(ObjType::Map)) {
        return;
    }
    for item in doc.map_range(obj, ..) {
        let key = item.key.as_ref();
        // Only a key automerge marks as conflicted needs all its values looked up.
        let all = if item.conflict {
            match doc.get_all(obj, key) {
                Ok(all) => all,
                Err(_) => continue,
            }
        } else {
            match item.value {
                ValueRef::Object(ObjType::Map) => vec![(Value::Object(ObjType::Map), item.id())],
                _ => Vec::new(),
            }
        };
        path.push(key.to_string());
        if all.len() > 1 {
            out.push(Conflict {
                path: path.clone(),
                values: all
                    .iter()
                    .map(|(v, id)| value_to_json(doc, v.clone(), id))
                    .collect(),
            });
        }
        if let Some((Value::Object(ObjType::Map), id)) = all.first() {
            walk_conflicts(doc, id, path, out, depth + 1);
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{Automerge, ROOT};
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(|i| Json::Number(i.into())),
            "[a-zA-Z0-9 ñé]{0,12}".prop_map(Json::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn json_round_trips(fields in proptest::collection::btree_map("[a-z]{1,6}", json_value(), 0..5)) {
            let value = Json::Object(fields.into_iter().collect());
            let mut doc = Automerge::new();
            doc.transact(|tx| write(tx, &ROOT, Prop::Map("r".into()), &value)).map_err(|f| TestCaseError::fail(f.error.to_string()))?;
            prop_assert_eq!(read_path(&doc, &["r"]), Some(value));
        }
    }

    #[test]
    fn merging_into_an_existing_map_keeps_other_fields() {
        let mut doc = Automerge::new();
        let a = serde_json::json!({"name": "Ada", "level": 1});
        doc.transact(|tx| write(tx, &ROOT, Prop::Map("r".into()), &a))
            .unwrap();
        let b = serde_json::json!({"level": 2});
        doc.transact(|tx| write(tx, &ROOT, Prop::Map("r".into()), &b))
            .unwrap();
        assert_eq!(
            read_path(&doc, &["r"]),
            Some(serde_json::json!({"name": "Ada", "level": 2}))
        );
    }
}
