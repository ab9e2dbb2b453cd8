//! Globals known to lead to code execution, processes, files or the
//! network. This list only labels: a global it misses is still unknown,
//! never safe (only an allowlist makes a global safe), so it needs no
//! completeness to be sound; it exists so a report can tell "an
//! unreviewed class" from "`os.system`".
//!
//! It was drawn from the malicious pickles published with picklescan and
//! the advisories they come from, and widened to the rest of each family:
//! a module whose purpose is running code, processes or sockets is listed
//! whole (submodules included); a module that also holds plain values
//! (`builtins`, `uuid`, `logging`) lists only its offending names.

/// What a dangerous global can do.
pub mod why {
    /// Evaluates or executes code it is handed, or rebuilds functions from code objects.
    pub const RUNS_CODE: &str = "runs code it is given";
    /// Reaches any attribute, method or module from a string.
    pub const REACHES_ANYTHING: &str = "reaches any attribute or module by name";
    /// Starts processes or shell commands.
    pub const PROCESSES: &str = "starts processes or shell commands";
    /// Opens, writes or deletes files.
    pub const FILES: &str = "opens, writes or deletes files";
    /// Opens network connections.
    pub const NETWORK: &str = "opens network connections";
    /// Loads another pickle, which this scan cannot see.
    pub const LOADS_PICKLES: &str = "loads another pickle, unseen by this scan";
    /// Calls native code.
    pub const NATIVE: &str = "calls native code";
    /// Changes the running interpreter (modules, import path, exit).
    pub const INTERPRETER: &str = "changes the running interpreter";
}

/// Which names of a module a rule covers.
enum Names {
    /// Every name in the module and its submodules.
    All,
    /// These names, and attributes reached through them (`Bdb` covers
    /// `Bdb.run`).
    Only(&'static [&'static str]),
}

use Names::{All, Only};

struct Rule {
    module: &'static str,
    names: Names,
    why: &'static str,
}

const fn rule(module: &'static str, names: Names, why: &'static str) -> Rule {
    Rule { module, names, why }
}

const RULES: &[Rule] = &[
    // Running code handed over as text or as code objects.
    rule("builtins", Only(&["eval", "exec", "compile", "execfile", "apply"]), why::RUNS_CODE),
    rule("builtins", Only(&["breakpoint", "help"]), why::PROCESSES),
    rule("builtins", Only(&["getattr", "setattr", "delattr", "__import__"]), why::REACHES_ANYTHING),
    rule("builtins", Only(&["globals", "locals", "vars"]), why::REACHES_ANYTHING),
    rule("builtins", Only(&["open"]), why::FILES),
    rule("types", Only(&["CodeType", "FunctionType", "LambdaType"]), why::RUNS_CODE),
    rule("marshal", All, why::RUNS_CODE),
    rule("code", All, why::RUNS_CODE),
    rule("codeop", All, why::RUNS_CODE),
    rule("runpy", All, why::RUNS_CODE),
    rule("timeit", All, why::RUNS_CODE),
    rule("profile", All, why::RUNS_CODE),
    rule("cProfile", All, why::RUNS_CODE),
    rule("trace", All, why::RUNS_CODE),
    rule("bdb", All, why::RUNS_CODE),
    rule("pdb", All, why::RUNS_CODE),
    rule("doctest", All, why::RUNS_CODE),
    rule("idlelib", All, why::RUNS_CODE),
    rule("lib2to3", All, why::RUNS_CODE),
    rule("logging.config", All, why::RUNS_CODE),
    rule("site", All, why::RUNS_CODE),
    rule("cloudpickle", All, why::RUNS_CODE),
    rule("dill", All, why::RUNS_CODE),
    rule("oxpickle._reconstruct", All, why::RUNS_CODE),
    rule("yaml", Only(&["load", "load_all", "unsafe_load", "unsafe_load_all"]), why::RUNS_CODE),
    rule("numpy.f2py", All, why::RUNS_CODE),
    rule("numpy.testing", All, why::RUNS_CODE),
    rule("torch._dynamo", All, why::RUNS_CODE),
    rule("torch._inductor", All, why::RUNS_CODE),
    rule("torch.fx.experimental.symbolic_shapes", Only(&["ShapeEnv"]), why::RUNS_CODE),
    rule("torch.jit.unsupported_tensor_ops", All, why::RUNS_CODE),
    rule("torch.package", All, why::RUNS_CODE),
    rule("torch.utils.bottleneck", All, why::RUNS_CODE),
    // Reaching anything from a string.
    rule("operator", Only(&["attrgetter", "methodcaller"]), why::REACHES_ANYTHING),
    rule("_operator", Only(&["attrgetter", "methodcaller"]), why::REACHES_ANYTHING),
    rule("importlib", All, why::REACHES_ANYTHING),
    rule("imp", All, why::REACHES_ANYTHING),
    rule("zipimport", All, why::REACHES_ANYTHING),
    rule("pkgutil", All, why::REACHES_ANYTHING),
    rule("pydoc", Only(&["locate"]), why::REACHES_ANYTHING),
    rule("pydoc", All, why::PROCESSES),
    rule("sys", All, why::INTERPRETER),
    // Processes.
    rule("os", All, why::PROCESSES),
    rule("posix", All, why::PROCESSES),
    rule("nt", All, why::PROCESSES),
    rule("subprocess", All, why::PROCESSES),
    rule("_posixsubprocess", All, why::PROCESSES),
    rule("pty", All, why::PROCESSES),
    rule("popen2", All, why::PROCESSES),
    rule("platform", All, why::PROCESSES),
    rule("multiprocessing", All, why::PROCESSES),
    rule("asyncio", All, why::PROCESSES),
    rule("_thread", Only(&["start_new_thread", "start_new"]), why::RUNS_CODE),
    rule("webbrowser", All, why::PROCESSES),
    rule("antigravity", All, why::PROCESSES),
    rule("pip", All, why::PROCESSES),
    rule("ensurepip", All, why::PROCESSES),
    rule("venv", All, why::PROCESSES),
    rule("distutils", All, why::PROCESSES),
    rule("setuptools", All, why::PROCESSES),
    rule("test", All, why::PROCESSES),
    rule("_pyrepl", All, why::PROCESSES),
    rule("_osx_support", All, why::PROCESSES),
    rule("_aix_support", All, why::PROCESSES),
    rule("uuid", Only(&["_get_command_stdout", "_popen"]), why::PROCESSES),
    rule("torch.utils.collect_env", All, why::PROCESSES),
    // Files.
    rule("io", Only(&["open", "open_code", "FileIO"]), why::FILES),
    rule("_io", Only(&["open", "open_code", "FileIO"]), why::FILES),
    rule("codecs", Only(&["open"]), why::FILES),
    rule("shutil", All, why::FILES),
    rule("fileinput", All, why::FILES),
    rule("linecache", All, why::FILES),
    rule("zipfile", All, why::FILES),
    rule("tarfile", All, why::FILES),
    rule("dbm", All, why::FILES),
    rule("logging", Only(&["FileHandler"]), why::FILES),
    rule("logging.handlers", All, why::FILES),
    rule("numpy", Only(&["memmap", "fromfile"]), why::FILES),
    // The network.
    rule("socket", All, why::NETWORK),
    rule("_socket", All, why::NETWORK),
    rule("ssl", All, why::NETWORK),
    rule("http.client", All, why::NETWORK),
    rule("http.server", All, why::NETWORK),
    rule("urllib.request", All, why::NETWORK),
    rule("ftplib", All, why::NETWORK),
    rule("smtplib", All, why::NETWORK),
    rule("poplib", All, why::NETWORK),
    rule("imaplib", Only(&["IMAP4_stream"]), why::PROCESSES),
    rule("imaplib", All, why::NETWORK),
    rule("nntplib", All, why::NETWORK),
    rule("telnetlib", All, why::NETWORK),
    rule("xmlrpc", All, why::NETWORK),
    rule("socketserver", All, why::NETWORK),
    rule("requests", All, why::NETWORK),
    rule("aiohttp", All, why::NETWORK),
    rule("httpx", All, why::NETWORK),
    rule("urllib3", All, why::NETWORK),
    rule("torch.hub", All, why::NETWORK),
    // Pickles inside pickles.
    rule("pickle", All, why::LOADS_PICKLES),
    rule("_pickle", All, why::LOADS_PICKLES),
    rule("shelve", All, why::LOADS_PICKLES),
    rule("oxpickle", Only(&["load", "loads", "Unpickler"]), why::LOADS_PICKLES),
    rule("oxpickle._oxpickle", Only(&["load", "loads", "Unpickler"]), why::LOADS_PICKLES),
    rule("joblib", Only(&["load"]), why::LOADS_PICKLES),
    rule("pandas", Only(&["read_pickle"]), why::LOADS_PICKLES),
    rule("pandas.io.pickle", All, why::LOADS_PICKLES),
    rule("numpy", Only(&["load"]), why::LOADS_PICKLES),
    rule("torch", Only(&["load"]), why::LOADS_PICKLES),
    rule("torch.serialization", Only(&["load", "_load"]), why::LOADS_PICKLES),
    rule("torch.utils._config_module", All, why::LOADS_PICKLES),
    rule("torch.utils.data.datapipes.utils.decoder", All, why::LOADS_PICKLES),
    // Native code.
    rule("ctypes", All, why::NATIVE),
    rule("_ctypes", All, why::NATIVE),
    rule("cffi", All, why::NATIVE),
    rule("numpy.ctypeslib", All, why::NATIVE),
];

impl Rule {
    fn covers(&self, module: &str, name: &str) -> bool {
        match self.names {
            All => module == self.module || is_inside(module, self.module),
            Only(names) => {
                module == self.module
                    && names.iter().any(|listed| name == *listed || is_inside(name, listed))
            }
        }
    }
}

/// Whether the dotted path `path` lies inside `prefix` (`a.b.c` in `a.b`).
fn is_inside(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.'))
}

/// What the global `module.name` (as Python 3 imports it) can do, if it
/// is a known danger. A dotted name walks attributes, and a module another
/// module imported is one of them (`pathlib.os.system` is `os.system`), so
/// each part of the path is also judged as a module holding the rest.
pub fn danger(module: &str, name: &str) -> Option<&'static str> {
    let direct = |module: &str, name: &str| {
        RULES.iter().find(|rule| rule.covers(module, name)).map(|rule| rule.why)
    };
    direct(module, name).or_else(|| {
        let parts: Vec<&str> = name.split('.').collect();
        (0..parts.len().saturating_sub(1))
            .find_map(|at| direct(parts[at], &parts[at + 1..].join(".")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowlist::PROFILES;

    #[test]
    fn whole_modules_cover_submodules_only_by_dots() {
        assert_eq!(danger("os", "system"), Some(why::PROCESSES));
        assert_eq!(danger("os.path", "join"), Some(why::PROCESSES));
        assert_eq!(danger("osmosis", "x"), None);
        let transport = danger("asyncio.unix_events", "_UnixSubprocessTransport._start");
        assert_eq!(transport, Some(why::PROCESSES));
    }

    #[test]
    fn a_module_reached_as_an_attribute_is_judged_as_itself() {
        assert_eq!(danger("pathlib", "os.system"), Some(why::PROCESSES));
        assert_eq!(danger("fractions", "sys.modules"), Some(why::INTERPRETER));
        assert_eq!(danger("a", "b.builtins.eval"), Some(why::RUNS_CODE));
        assert_eq!(danger("zoneinfo", "ZoneInfo._unpickle"), None);
        assert_eq!(danger("pathlib", "Path.os"), None);
    }

    #[test]
    fn listed_names_cover_their_attributes() {
        assert_eq!(danger("builtins", "eval"), Some(why::RUNS_CODE));
        assert_eq!(danger("builtins", "evaluate"), None);
        assert_eq!(
            danger("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"),
            Some(why::RUNS_CODE)
        );
        assert_eq!(danger("builtins", "list"), None);
        assert_eq!(danger("uuid", "UUID"), None);
    }

    #[test]
    fn no_profile_global_is_labelled_dangerous() {
        for profile in PROFILES {
            for entry in profile.globals {
                let (module, name) = (entry.module, entry.qualname);
                assert_eq!(danger(module, name), None, "{module}.{name} in {}", profile.name);
            }
        }
    }
}
