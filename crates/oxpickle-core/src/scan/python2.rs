//! Python 2 names of globals, as Python 3's unpickler renames them for
//! pickles below protocol 3 (`fix_imports`, on by default). A scanner
//! must judge the name that would really be imported: `__builtin__.eval`
//! in a protocol 0 pickle is `builtins.eval`.
//!
//! This is the part of CPython's `_compat_pickle` a scanner needs: the
//! modules that hold builtins, pickle machinery, processes, files and the
//! network, and the renames of common value types. A name not listed is
//! judged as written; `tests/test_scan_cli.py` checks that no entry
//! disagrees with the running CPython's table.

/// `(module, name)`.
type Global = (&'static str, &'static str);

/// Single globals renamed, looked up before the module renames (CPython's
/// order).
const NAMES: &[(Global, Global)] = &[
    (("__builtin__", "basestring"), ("builtins", "str")),
    (("__builtin__", "intern"), ("sys", "intern")),
    (("__builtin__", "long"), ("builtins", "int")),
    (("__builtin__", "reduce"), ("functools", "reduce")),
    (("__builtin__", "unichr"), ("builtins", "chr")),
    (("__builtin__", "unicode"), ("builtins", "str")),
    (("__builtin__", "xrange"), ("builtins", "range")),
    (("UserDict", "IterableUserDict"), ("collections", "UserDict")),
    (("itertools", "ifilter"), ("builtins", "filter")),
    (("itertools", "ifilterfalse"), ("itertools", "filterfalse")),
    (("itertools", "imap"), ("builtins", "map")),
    (("itertools", "izip"), ("builtins", "zip")),
    (("itertools", "izip_longest"), ("itertools", "zip_longest")),
    (("socket", "_socketobject"), ("socket", "SocketType")),
    (("urllib", "getproxies"), ("urllib.request", "getproxies")),
    (("urllib", "pathname2url"), ("urllib.request", "pathname2url")),
    (("urllib", "quote"), ("urllib.parse", "quote")),
    (("urllib", "quote_plus"), ("urllib.parse", "quote_plus")),
    (("urllib", "unquote"), ("urllib.parse", "unquote")),
    (("urllib", "unquote_plus"), ("urllib.parse", "unquote_plus")),
    (("urllib", "url2pathname"), ("urllib.request", "url2pathname")),
    (("urllib", "urlcleanup"), ("urllib.request", "urlcleanup")),
    (("urllib", "urlencode"), ("urllib.parse", "urlencode")),
    (("urllib", "urlopen"), ("urllib.request", "urlopen")),
    (("urllib", "urlretrieve"), ("urllib.request", "urlretrieve")),
    (("urllib2", "HTTPError"), ("urllib.error", "HTTPError")),
    (("urllib2", "URLError"), ("urllib.error", "URLError")),
];

/// Whole modules renamed.
const MODULES: &[(&str, &str)] = &[
    ("__builtin__", "builtins"),
    ("copy_reg", "copyreg"),
    ("cPickle", "pickle"),
    ("commands", "subprocess"),
    ("thread", "_thread"),
    ("httplib", "http.client"),
    ("urllib2", "urllib.request"),
    ("urlparse", "urllib.parse"),
    ("BaseHTTPServer", "http.server"),
    ("SimpleHTTPServer", "http.server"),
    ("CGIHTTPServer", "http.server"),
    ("SocketServer", "socketserver"),
    ("xmlrpclib", "xmlrpc.client"),
    ("SimpleXMLRPCServer", "xmlrpc.server"),
    ("DocXMLRPCServer", "xmlrpc.server"),
    ("cookielib", "http.cookiejar"),
    ("Cookie", "http.cookies"),
    ("UserDict", "collections"),
    ("UserList", "collections"),
    ("UserString", "collections"),
    ("_abcoll", "collections.abc"),
    ("StringIO", "io"),
    ("cStringIO", "io"),
    ("Queue", "queue"),
    ("repr", "reprlib"),
    ("anydbm", "dbm"),
    ("whichdb", "dbm"),
];

/// The name Python 3 imports for the Python 2 global `module.name` read
/// below protocol 3, or None if it imports it as written.
pub fn python3_name(module: &str, name: &str) -> Option<(&'static str, String)> {
    if let Some(&(_, (module, name))) = NAMES.iter().find(|(from, _)| *from == (module, name)) {
        return Some((module, name.to_owned()));
    }
    let &(_, renamed) = MODULES.iter().find(|&&(from, _)| from == module)?;
    Some((renamed, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_before_modules() {
        assert_eq!(python3_name("__builtin__", "xrange"), Some(("builtins", "range".into())));
        assert_eq!(python3_name("__builtin__", "eval"), Some(("builtins", "eval".into())));
        assert_eq!(python3_name("urllib", "urlopen"), Some(("urllib.request", "urlopen".into())));
        assert_eq!(python3_name("urllib", "other"), None);
        assert_eq!(python3_name("builtins", "eval"), None);
    }
}
