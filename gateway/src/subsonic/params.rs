//! The parameters of a `/rest` call as clients send them: the query string and, for a form
//! POST (OpenSubsonic `formPost`), the body, merged in that order; names may repeat
//! (`id=1&id=2`), booleans come as `true`/`false`, `True`/`False` or `1`/`0`.

use std::borrow::Cow;

use super::error::SubsonicError;

/// The parameters of one call, in the order they came.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a query string and, when the body is a form, the body; malformed input is a
    /// missing-parameter error rather than a silent drop.
    pub(crate) fn parse(query: Option<&str>, form: Option<&[u8]>) -> Result<Self, SubsonicError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let bad =
            |_| SubsonicError::MissingParameter("the parameters are not valid form data".into());
        if let Some(query) = query {
            pairs.extend(serde_urlencoded::from_str::<Vec<(String, String)>>(query).map_err(bad)?);
        }
        if let Some(form) = form {
            pairs.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(form).map_err(bad)?);
        }
        Ok(Self { pairs })
    }

    /// The first value of `name`, if any.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether `name` was sent at all (even empty).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every value of `name`, in order (`id=a&id=b`).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name`; error 10 naming it when missing or empty.
    pub(crate) fn required(&self, name: &'static str) -> Result<&str, SubsonicError> {
        match self.get(name) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(SubsonicError::missing(name)),
        }
    }

    /// The boolean `name`, `default` when absent; error 10 when it is not a boolean.
    pub(crate) fn bool(&self, name: &'static str, default: bool) -> Result<bool, SubsonicError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(value) => parse_bool(value).ok_or_else(|| {
                SubsonicError::MissingParameter(Cow::Owned(format!(
                    "{name} must be true or false, not {value:?}"
                )))
            }),
        }
    }
}

/// `true`/`false` in any case, or `1`/`0`.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") || value == "1" {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") || value == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_merge_and_names_repeat() {
        let params = Params::parse(Some("id=a&u=ann"), Some(b"id=b&id=c%20d")).expect("parse");
        assert_eq!(params.all("id").collect::<Vec<_>>(), ["a", "b", "c d"]);
        assert_eq!(params.get("u"), Some("ann"));
        assert_eq!(params.required("x"), Err(SubsonicError::missing("x")));
    }

    #[test]
    fn booleans_come_in_every_spelling_clients_use() {
        for (text, want) in [
            ("true", true),
            ("True", true),
            ("1", true),
            ("false", false),
            ("False", false),
            ("0", false),
        ] {
            assert_eq!(parse_bool(text), Some(want), "{text}");
        }
        assert_eq!(parse_bool("yes"), None);
        let params = Params::parse(Some("a=True&b=0&c=maybe"), None).expect("parse");
        assert_eq!(params.bool("a", false), Ok(true));
        assert_eq!(params.bool("b", true), Ok(false));
        assert_eq!(params.bool("missing", true), Ok(true));
        assert_eq!(params.bool("c", true).map_err(|e| e.code()), Err(10));
    }
}
