//! `key=`: signing pickles on dump and checking them before a load runs.

use oxpickle_core::sign::{self, SignError, HEADER_LEN};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::unsafe_pickle_error;

/// The keys `key=` names: one bytes-like key, or an iterable of them (the
/// first signs; any may check, for key rotation).
pub fn keys(key: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    let one = |key: &Bound<'_, PyAny>| -> PyResult<Vec<u8>> {
        if key.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "key= must be bytes, not str: encode it, or better, use os.urandom(32)",
            ));
        }
        let bytes: Vec<u8> = if let Ok(bytes) = key.cast::<PyBytes>() {
            bytes.as_bytes().to_vec()
        } else if let Ok(array) = key.cast::<PyByteArray>() {
            array.to_vec()
        } else {
            return Err(PyTypeError::new_err(format!(
                "key= takes bytes or a list of bytes, not {}",
                key.get_type().name()?
            )));
        };
        if bytes.is_empty() {
            return Err(PyValueError::new_err("key= must not be empty"));
        }
        Ok(bytes)
    };
    if key.is_instance_of::<PyBytes>() || key.is_instance_of::<PyByteArray>() {
        return Ok(vec![one(key)?]);
    }
    let keys = key
        .try_iter()
        .map_err(|_| PyTypeError::new_err("key= takes bytes or a list of bytes"))?
        .map(|key| one(&key?))
        .collect::<PyResult<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(PyValueError::new_err("key= is an empty list: give at least one key"));
    }
    Ok(keys)
}

fn refused(py: Python<'_>, err: &SignError) -> PyErr {
    unsafe_pickle_error(py, format!("refusing to load: {err}"))
}

/// `header + pickle`, signed with the first key.
pub fn signed<'py>(
    py: Python<'py>,
    keys: &[Vec<u8>],
    pickle: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let key = keys.first().ok_or_else(|| PyValueError::new_err("key= names no key"))?;
    let header = sign::header(key, pickle);
    PyBytes::new_with(py, HEADER_LEN + pickle.len(), |out| {
        out[..HEADER_LEN].copy_from_slice(&header);
        out[HEADER_LEN..].copy_from_slice(pickle);
        Ok(())
    })
}

/// The pickle inside signed `data`, once its tag checks out.
pub fn opened<'a>(py: Python<'_>, data: &'a [u8], keys: &[Vec<u8>]) -> PyResult<&'a [u8]> {
    let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    sign::open(data, &keys).map_err(|err| refused(py, &err))
}

/// Reads one signed pickle from `read` (a file's read method) and checks
/// it; returns the pickle. Reads in chunks, so a false length in the
/// header costs no more memory than the file holds.
pub fn read_signed(read: &Bound<'_, PyAny>, keys: &[Vec<u8>]) -> PyResult<Vec<u8>> {
    const CHUNK: u64 = 1 << 24;
    let py = read.py();
    let mut data = Vec::with_capacity(HEADER_LEN);
    let fill = |data: &mut Vec<u8>, want: u64| -> PyResult<()> {
        while (data.len() as u64) < want {
            let chunk = read.call1(((want - data.len() as u64).min(CHUNK),))?;
            let chunk = chunk
                .cast::<PyBytes>()
                .map_err(|_| PyTypeError::new_err("file.read() must return bytes"))?;
            if chunk.as_bytes().is_empty() {
                break;
            }
            data.extend_from_slice(chunk.as_bytes());
        }
        Ok(())
    };
    fill(&mut data, HEADER_LEN as u64)?;
    let header = sign::parse_header(&data).map_err(|err| refused(py, &err))?;
    let end = (HEADER_LEN as u64).saturating_add(header.payload_len);
    fill(&mut data, end)?;
    let got = data.len() as u64;
    if got < end {
        return Err(refused(py, &SignError::Truncated { needed: end, got }));
    }
    let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    sign::verify(&header, &data[HEADER_LEN..], &keys).map_err(|err| refused(py, &err))?;
    data.drain(..HEADER_LEN);
    Ok(data)
}

/// An unsigned load of signed data: say what to do instead of failing on
/// the magic as an unknown opcode.
pub fn refuse_if_signed(py: Python<'_>, data: &[u8]) -> PyResult<()> {
    if data.starts_with(sign::MAGIC) {
        return Err(unsafe_pickle_error(
            py,
            "this is a signed pickle: pass key= to check its signature and load it",
        ));
    }
    Ok(())
}
