//! What a load trusts: `allow=` (which globals resolve; None for all) and
//! `limits=`.

use oxpickle_core::Allowlist;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::limits::LoadLimits;

#[derive(Clone, Debug, Default)]
pub struct LoadPolicy {
    /// Restricted loading when set: only these globals resolve.
    pub allowlist: Option<Allowlist>,
    pub limits: LoadLimits,
}

impl LoadPolicy {
    /// From the `allow=` and `limits=` arguments.
    pub fn new(
        allow: Option<&Bound<'_, PyAny>>,
        limits: Option<LoadLimits>,
    ) -> PyResult<LoadPolicy> {
        let allowlist = allow.filter(|allow| !allow.is_none()).map(allowlist).transpose()?;
        Ok(LoadPolicy { allowlist, limits: limits.unwrap_or_default() })
    }
}

/// `allow=`: a profile or global name, or an iterable of them.
fn allowlist(allow: &Bound<'_, PyAny>) -> PyResult<Allowlist> {
    let add = |allowlist: &mut Allowlist, entry: &Bound<'_, PyAny>| -> PyResult<()> {
        let entry = entry.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "allow= entries must be str, not {}",
                entry.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?;
        allowlist
            .add(entry.to_str()?)
            .map_err(|err| PyValueError::new_err(format!("allow=: {err}")))
    };
    let mut allowlist = Allowlist::new();
    if allow.is_instance_of::<PyString>() {
        add(&mut allowlist, allow)?;
        return Ok(allowlist);
    }
    let entries = allow.try_iter().map_err(|_| {
        PyTypeError::new_err(
            "allow= takes a profile name, a \"module.qualname\" string, or an iterable of them",
        )
    })?;
    for entry in entries {
        add(&mut allowlist, &entry?)?;
    }
    Ok(allowlist)
}
