//! Sign-in with OpenID Connect (authorization code + PKCE), sign-out, and the gate that sends
//! anonymous visitors of signed-in areas to sign-in.

mod handlers;
mod oidc;
mod pages;

pub use handlers::{callback, login, logout, require_sign_in};
pub use oidc::Oidc;

/// Where to send the browser after sign-in: only paths on this site, never another host.
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/auth/")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next_path(Some("/catalog?x=1")), "/catalog?x=1");
        assert_eq!(safe_next_path(Some("//evil.example")), "/");
        assert_eq!(safe_next_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_next_path(Some("https://evil.example")), "/");
        assert_eq!(safe_next_path(Some("/auth/logout")), "/");
        assert_eq!(safe_next_path(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(safe_next_path(None), "/");
    }
}
