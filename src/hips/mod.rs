//! The HiPS format: tile paths and pixel layout, properties, Allsky, MOC. Pure functions
//! and small writers; no build policy.

pub mod allsky;
pub mod geometry;
pub mod html;
pub mod layout;
pub mod moc;
pub mod pixels;
pub mod presets;
pub mod properties;
