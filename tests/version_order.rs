//! Debian and RPM order our version strings the same way, checked with the real tools.
