//! Object stores for cloud locations: the first time a table or query names
//! `s3://`, `gs://`, `az://` (`abfs://`, `azure://`) or `http(s)://` files,
//! Tarn builds a store for that bucket from the standard environment
//! variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`) and registers it with the
//! session, so catalog tables over object stores work in every new process.
//! Each store is wrapped to count what it reads into the engine's
//! [`ScanCounters`].

use std::sync::Arc;

use datafusion::execution::SessionState;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use url::Url;

use crate::error::{Error, Result};
use crate::scan_metrics::{CountingObjectStore, ScanCounters};

/// Make sure the runtime has a store for `location` (a path or URL).
pub(crate) fn ensure_object_store(state: &SessionState, location: &str) -> Result<()> {
    let runtime = state.runtime_env();
    let Some((scheme, _)) = location.split_once("://") else { return Ok(()) };
    if scheme == "file" {
        return Ok(());
    }
    let url = Url::parse(location).map_err(|e| Error::Plan { message: format!("invalid URL '{location}': {e}") })?;
    let host = url.host_str().unwrap_or_default();
    let base = Url::parse(&format!("{scheme}://{host}"))
        .map_err(|e| Error::Plan { message: format!("invalid URL '{location}': {e}") })?;
    if runtime.object_store(datafusion::execution::object_store::ObjectStoreUrl::parse(base.as_str())?).is_ok() {
        return Ok(());
    }
    let config_error =
        |e: object_store::Error| Error::Config(format!("cannot set up the object store for '{location}': {e}"));
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" | "s3a" => Arc::new(AmazonS3Builder::from_env().with_url(base.as_str()).build().map_err(config_error)?),
        "gs" | "gcs" => {
            Arc::new(GoogleCloudStorageBuilder::from_env().with_url(base.as_str()).build().map_err(config_error)?)
        }
        "az" | "azure" | "abfs" | "abfss" | "adl" => {
            Arc::new(MicrosoftAzureBuilder::from_env().with_url(base.as_str()).build().map_err(config_error)?)
        }
        "http" | "https" => Arc::new(HttpBuilder::new().with_url(base.as_str()).build().map_err(config_error)?),
        other => return Err(Error::Unsupported(format!("object store scheme '{other}://' (in '{location}')"))),
    };
    let store = match state.config().get_extension::<ScanCounters>() {
        Some(counters) => CountingObjectStore::wrap(store, counters),
        None => store,
    };
    runtime.register_object_store(&base, store);
    Ok(())
}
