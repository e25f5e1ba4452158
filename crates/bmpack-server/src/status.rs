//! What a Nextcloud server says about itself: `status.php` and `occ status`.
//!
//! Real answers vary across releases: `installed` is a boolean on Nextcloud but the string
//! `"true"` on ownCloud 10 and very old releases; `needsDbUpgrade` appeared in 9.1/10;
//! `productname` in 11 or 12 and follows the theme; later releases add keys (`extendedSupport`).
//! Unknown keys are ignored. `occ status` prints JSON with `--output=json` (newer releases add a
//! text line after it, older ones a warning before it) or a `  - key: value` list without it;
//! until 2021 (Nextcloud 23) it printed only `installed`, `version`, `versionstring` and
//! `edition`, then the same keys as status.php. `version` is the internal version: Nextcloud 10
//! says 9.1.x and the first 11 alphas 9.2.x, so the release is read from `versionstring`.
//!
//! Every text a server sends is kept escaped ([`printable`]): it is shown on terminals.

use bmpack::console::printable;
use serde_json::{Map, Value};

use crate::exit::{ExitClass, Failure};

/// Which product answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Product {
    Nextcloud,
    /// ownCloud: a different product (its forks diverged after 9), not served by the connector.
    OwnCloud,
    /// A themed Nextcloud (`productname` set by the theme) or a status without `productname`.
    Unnamed(Option<String>),
}

/// The fields of a status answer the tool acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub installed: bool,
    pub maintenance: bool,
    pub needs_db_upgrade: bool,
    /// `version`, four numbers (`25.0.3.2`).
    pub version: String,
    /// `versionstring`, what the admin page shows (`25.0.3`, `9.0.53 beta`).
    pub version_string: Option<String>,
    pub product: Product,
}

impl ServerStatus {
    /// The version to show to people.
    pub fn display_version(&self) -> &str {
        self.version_string.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or(&self.version)
    }

    /// The release the selection rule reads: the numbers `versionstring` starts with
    /// (`21.0.3 Enterprise` → `21.0.3`, `11.0 alpha` → `11.0`), else `version`. Nextcloud 10
    /// reports `version` 9.1.x, its first 11 alphas 9.2.x: the internal numbers of the
    /// ownCloud code base, not the release.
    pub fn numeric_version(&self) -> &str {
        let from_string = self.version_string.as_deref().map(str::trim).map(|s| {
            let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
            s[..end].trim_end_matches('.')
        });
        match from_string {
            Some(numbers) if numbers.starts_with(|c: char| c.is_ascii_digit()) => numbers,
            _ => &self.version,
        }
    }

    pub fn product_name(&self) -> String {
        match &self.product {
            Product::Nextcloud => "Nextcloud".into(),
            Product::OwnCloud => "ownCloud".into(),
            Product::Unnamed(Some(name)) => name.clone(),
            Product::Unnamed(None) => "Nextcloud".into(),
        }
    }
}

/// Reads a JSON status object (status.php's body, or `occ status --output=json`).
pub fn from_json_object(object: &Map<String, Value>, origin: &str) -> Result<ServerStatus, Failure> {
    let flag = |key: &str, default: bool| -> Result<bool, Failure> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => flag_value(value).ok_or_else(|| {
                Failure::new(
                    ExitClass::ServerNotUsable,
                    format!("{origin}: key `{key}` is {}, expected true or false", printable(&value.to_string())),
                )
            }),
        }
    };
    let version = match object.get("version") {
        Some(Value::String(v)) if !v.trim().is_empty() => printable(v.trim()),
        Some(other) => {
            return Err(Failure::new(
                ExitClass::ServerNotUsable,
                format!(
                    "{origin}: key `version` is {}, expected a version such as \"25.0.3.2\"",
                    printable(&other.to_string())
                ),
            ));
        }
        None => {
            return Err(not_a_status(origin, "it has no `version` key"));
        }
    };
    if !object.contains_key("installed") {
        return Err(not_a_status(origin, "it has no `installed` key"));
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(printable);
    let product = product_of(text("productname").as_deref(), text("product").as_deref());
    Ok(ServerStatus {
        installed: flag("installed", false)?,
        maintenance: flag("maintenance", false)?,
        needs_db_upgrade: flag("needsDbUpgrade", false)?,
        version,
        version_string: text("versionstring"),
        product,
    })
}

fn not_a_status(origin: &str, why: &str) -> Failure {
    Failure::new(ExitClass::ServerNotUsable, format!("{origin} is not a Nextcloud status: {why}")).with_fix(
        "check that the address is Nextcloud's own (the part before /remote.php/ must be where Nextcloud is installed)",
    )
}

/// `true`, `"true"`, `1`, `"1"`, `"yes"` and their opposites; anything else is not a flag.
fn flag_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().and_then(|n| match n {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn product_of(productname: Option<&str>, product: Option<&str>) -> Product {
    let is_owncloud = |s: &str| s.trim().eq_ignore_ascii_case("owncloud");
    if product.is_some_and(is_owncloud) || productname.is_some_and(is_owncloud) {
        return Product::OwnCloud;
    }
    match productname.map(str::trim) {
        Some(name) if name.eq_ignore_ascii_case("nextcloud") => Product::Nextcloud,
        Some(name) if !name.is_empty() => Product::Unnamed(Some(name.to_string())),
        _ => Product::Unnamed(None),
    }
}

/// Reads the output of `occ status`, with or without `--output=json`, with text lines around it.
pub fn from_occ_output(text: &str, origin: &str) -> Result<ServerStatus, Failure> {
    if let Some(object) = first_json_object(text) {
        return from_json_object(&object, origin);
    }
    // `occ status` without `--output=json`: "  - installed: true" lines.
    let mut object = Map::new();
    for line in text.lines() {
        let Some(item) = line.trim_start().strip_prefix("- ") else { continue };
        if let Some((key, value)) = item.split_once(':') {
            object.insert(key.trim().to_string(), Value::String(value.trim().to_string()));
        }
    }
    if object.contains_key("version") && object.contains_key("installed") {
        return from_json_object(&object, origin);
    }
    let first_line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(empty)");
    Err(Failure::new(
        ExitClass::Usage,
        format!("{origin} is not the output of `occ status`: it starts with `{}`", printable(first_line)),
    )
    .with_fix(
        "on the Nextcloud host, run occ as the web server's user, e.g. \
         `sudo -u www-data php /var/www/nextcloud/occ status --output=json > status.json`, \
         and give that file to --occ-status",
    ))
}

/// The first `{...}` in `text` that parses as a JSON object, ignoring text before and after it.
pub fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find('{') {
        let start = search_from + offset;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(object))) = stream.next() {
            return Some(object);
        }
        search_from = start + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_as_booleans_or_strings() {
        let text = r#"{"installed":"true","maintenance":"false","needsDbUpgrade":"false","version":"10.13.0.2","versionstring":"10.13.0","edition":"Community","productname":"ownCloud","product":"ownCloud"}"#;
        let s = from_occ_output(text, "t").unwrap();
        assert!(s.installed && !s.maintenance && !s.needs_db_upgrade);
        assert_eq!(s.product, Product::OwnCloud);
        let bad = from_occ_output(r#"{"installed":"maybe","version":"25.0.0.1"}"#, "t").unwrap_err();
        assert!(bad.message.contains("`installed`"), "{bad}");
    }

    #[test]
    fn text_after_and_before_json() {
        let text = "Nextcloud or one of the apps require upgrade - only a limited number of commands are available\n{\"installed\":true,\"version\":\"30.0.1.2\",\"versionstring\":\"30.0.1\",\"edition\":\"\",\"maintenance\":false,\"needsDbUpgrade\":true,\"productname\":\"Nextcloud\",\"extendedSupport\":false}\nThe current PHP memory limit is below the recommended value of 512MB.\n";
        let s = from_occ_output(text, "t").unwrap();
        assert!(s.needs_db_upgrade);
        assert_eq!(s.display_version(), "30.0.1");
    }

    #[test]
    fn plain_occ_list() {
        let text = "  - installed: true\n  - version: 27.1.4.1\n  - versionstring: 27.1.4\n  - edition: \n  - maintenance: false\n  - needsDbUpgrade: false\n  - productname: Nextcloud\n  - extendedSupport: false\n";
        let s = from_occ_output(text, "t").unwrap();
        assert_eq!(s.version, "27.1.4.1");
        assert_eq!(s.product, Product::Nextcloud);
    }
}
