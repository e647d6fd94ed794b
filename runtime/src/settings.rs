//! Layered settings: built-in defaults, then an optional TOML file, then `TUNEMESH_*` variables.
//!
//! Every settings struct in tunemesh is plain serde with `#[serde(default)]`, so the defaults
//! live next to the fields they describe and serve the embedded, one-process mode. The
//! environment is passed in as a map rather than read from the process, so tests can load
//! settings in parallel without touching global state.

use std::collections::HashMap;
use std::path::PathBuf;

use config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

/// Prefix of the environment variables that override settings (`TUNEMESH_GRPC__ADDR`).
pub const ENV_PREFIX: &str = "TUNEMESH";
/// Separates nesting levels in variable names: `TUNEMESH_POSTGRES__URL` is `postgres.url`.
pub const ENV_SEPARATOR: &str = "__";
/// Names a settings file explicitly; otherwise `./tunemesh.toml` is read when it exists.
pub const CONFIG_FILE_VAR: &str = "TUNEMESH_CONFIG";
/// The settings file looked for in the working directory when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "tunemesh.toml";

/// Variables with the prefix that are not settings, so they never trip `deny_unknown_fields`.
const NON_SETTING_VARS: &[&str] = &[
    "TUNEMESH_CONFIG",
    "TUNEMESH_TEST_",
    "TUNEMESH_SERVERS_",
    "TUNEMESH_LOG",
];

/// Why settings could not be loaded. The message names the file or variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file named explicitly (flag or `TUNEMESH_CONFIG`) does not exist.
    #[error("settings file {path} does not exist")]
    MissingFile {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// The layers could not be merged or did not fit the settings' shape.
    #[error("invalid settings: {0}")]
    Invalid(#[from] config::ConfigError),
}

/// Where settings come from, apart from the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct SettingsSource {
    /// A settings file named on the command line; wins over `TUNEMESH_CONFIG`.
    pub file: Option<PathBuf>,
    /// The environment to read `TUNEMESH_*` variables from (usually `std::env::vars()`).
    pub env: HashMap<String, String>,
    /// The directory in which `tunemesh.toml` is looked for when no file is named.
    pub working_dir: Option<PathBuf>,
}

impl SettingsSource {
    /// The process environment and working directory, for `main`.
    pub fn from_process(file: Option<PathBuf>) -> Self {
        Self {
            file,
            env: std::env::vars().collect(),
            working_dir: std::env::current_dir().ok(),
        }
    }

    /// Only the given variables and no file: what tests use.
    pub fn from_env<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            env: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            ..Self::default()
        }
    }

    /// The settings file to read, if any: the named one (which must exist), else the default
    /// one when present in the working directory.
    fn file_to_read(&self) -> Result<Option<PathBuf>, SettingsError> {
        let named = self
            .file
            .clone()
            .or_else(|| self.env.get(CONFIG_FILE_VAR).map(PathBuf::from));
        if let Some(path) = named {
            return if path.is_file() {
                Ok(Some(path))
            } else {
                Err(SettingsError::MissingFile { path })
            };
        }
        let default = self
            .working_dir
            .as_deref()
            .map(|dir| dir.join(DEFAULT_CONFIG_FILE));
        Ok(default.filter(|path| path.is_file()))
    }

    /// The `TUNEMESH_*` variables that are settings, others filtered out.
    fn setting_vars(&self) -> HashMap<String, String> {
        let prefix = format!("{ENV_PREFIX}_");
        self.env
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .filter(|(key, _)| !NON_SETTING_VARS.iter().any(|skip| key.starts_with(skip)))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// Loads `T` from its defaults, the settings file and the environment, in that order.
pub fn load<T: DeserializeOwned>(source: &SettingsSource) -> Result<T, SettingsError> {
    let mut builder = Config::builder();
    if let Some(path) = source.file_to_read()? {
        builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
    }
    let config = builder.add_source(env_layer(source)).build()?;
    Ok(config.try_deserialize()?)
}

/// The environment as the top layer; `__` separates nesting levels.
fn env_layer(source: &SettingsSource) -> Environment {
    Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator(ENV_SEPARATOR)
        .try_parsing(true)
        .source(Some(source.setting_vars()))
}

/// Loads `T` from a TOML string and the given environment; handy for tests and examples.
pub fn load_from_str<T: DeserializeOwned>(
    toml: &str,
    env: &HashMap<String, String>,
) -> Result<T, SettingsError> {
    let source = SettingsSource {
        env: env.clone(),
        ..SettingsSource::default()
    };
    let config = Config::builder()
        .add_source(File::from_str(toml, FileFormat::Toml))
        .add_source(env_layer(&source))
        .build()?;
    Ok(config.try_deserialize()?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Sample {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        port: u16,
        #[serde(with = "humantime_serde")]
        timeout: Duration,
        enabled: bool,
    }

    impl Default for Sample {
        fn default() -> Self {
            Self {
                name: "default".into(),
                inner: Inner::default(),
            }
        }
    }

    impl Default for Inner {
        fn default() -> Self {
            Self {
                port: 1,
                timeout: Duration::from_secs(3),
                enabled: false,
            }
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let loaded: Sample = load(&SettingsSource::default()).expect("defaults load");
        assert_eq!(loaded, Sample::default());
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let env = HashMap::from([
            ("TUNEMESH_INNER__PORT".to_owned(), "8080".to_owned()),
            ("TUNEMESH_INNER__TIMEOUT".to_owned(), "250ms".to_owned()),
            ("OTHER_INNER__PORT".to_owned(), "1".to_owned()),
            (
                "TUNEMESH_TEST_POSTGRES_URL".to_owned(),
                "ignored".to_owned(),
            ),
        ]);
        let toml = "name = \"from-file\"\n[inner]\nport = 9000\nenabled = true\n";
        let loaded: Sample = load_from_str(toml, &env).expect("layers load");
        assert_eq!(loaded.name, "from-file");
        assert_eq!(loaded.inner.port, 8080);
        assert_eq!(loaded.inner.timeout, Duration::from_millis(250));
        assert!(loaded.inner.enabled);
    }

    #[test]
    fn unknown_variable_is_rejected_with_its_name() {
        let source = SettingsSource::from_env([("TUNEMESH_INNER__PORTT", "1")]);
        let err = load::<Sample>(&source).expect_err("typo is rejected");
        assert!(err.to_string().contains("portt"), "{err}");
    }

    #[test]
    fn bad_value_is_rejected() {
        let source = SettingsSource::from_env([("TUNEMESH_INNER__PORT", "not-a-port")]);
        assert!(load::<Sample>(&source).is_err());
    }

    #[test]
    fn named_file_must_exist() {
        let source = SettingsSource {
            file: Some(PathBuf::from("/nonexistent/tunemesh.toml")),
            ..SettingsSource::default()
        };
        let err = load::<Sample>(&source).expect_err("missing file");
        assert!(matches!(err, SettingsError::MissingFile { .. }));
    }
}
