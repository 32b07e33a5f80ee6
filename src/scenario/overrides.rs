//! Command-line overrides of single scenario keys: `--set network.loss=0.05`.

/// Applies one `dotted.key=value` override to a parsed scenario table. The value is read as a
/// TOML value (`0.05`, `true`, `[1, 2]`, `"text"`); a bare word that is not TOML becomes a
/// string (`--set network.latency=2ms`). Returns the key and the reason on error.
pub fn apply_override(table: &mut toml::Table, text: &str) -> Result<(), (Option<String>, String)> {
    let (key, raw) = text
        .split_once('=')
        .ok_or_else(|| (None, format!("override `{text}` is not of the form key.path=value")))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err((Some(key.to_string()), "empty key in override".into()));
    }
    let value = parse_value(raw.trim());
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    let mut cursor = table;
    for part in parts {
        let entry = cursor
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cursor = entry.as_table_mut().ok_or_else(|| {
            (Some(key.to_string()), format!("`{part}` is not a table, cannot set a key inside it"))
        })?;
    }
    cursor.insert(last.to_string(), value);
    Ok(())
}

/// The key an override sets (`network.loss` in `network.loss=0.05`), if it has the form.
pub(super) fn key(text: &str) -> Option<&str> {
    text.split_once('=').map(|(key, _)| key.trim())
}

fn parse_value(raw: &str) -> toml::Value {
    let wrapped = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}
