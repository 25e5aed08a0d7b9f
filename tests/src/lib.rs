//! Shared helpers for Tarn test suites.
