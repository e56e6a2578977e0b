//! `custseg devices`: the GPU adapters wgpu finds, as JSON.

use serde_json::json;

use crate::backend::gpu::context::{list_devices, NO_ADAPTER_HELP};
use crate::error::Result;

/// Lists the adapters; an empty list comes with a hint on how to get a driver.
pub fn run() -> Result<serde_json::Value> {
    let devices = list_devices();
    let mut out = json!({ "command": "devices", "devices": devices });
    if devices.is_empty() {
        out["hint"] = json!(NO_ADAPTER_HELP);
    }
    Ok(out)
}
