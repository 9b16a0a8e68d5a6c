//! The OpenID Connect client: discovery, the authorization URL, the code exchange, ID-token
//! verification against the provider's published keys (fetched again when a token names a key
//! not seen yet; the code itself is exchanged once), and refreshing a signed-in person's groups
//! with their refresh token.

use crate::config::AuthSettings;
use anyhow::{Context, anyhow};
use app::domain::GroupName;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EndSessionUrl, IdToken, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse as _,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse as _,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// The provider metadata we read: the standard fields plus the logout endpoint.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogoutMetadata {
    end_session_endpoint: Option<EndSessionUrl>,
}
impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The `groups` claim that carries team and role membership.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GroupsClaim {
    #[serde(default)]
    groups: Vec<String>,
}
impl AdditionalClaims for GroupsClaim {}

type GroupsIdToken = IdToken<
    GroupsClaim,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// What a sign-in needs to remember between the redirect and the callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: String,
}

/// A verified sign-in, or a verified refresh of one.
#[derive(Debug, Clone)]
pub struct VerifiedSignIn {
    pub subject: String,
    pub display_name: String,
    pub email: Option<String>,
    pub groups: Vec<GroupName>,
    pub id_token: String,
    /// For reading the person's groups again later, when the provider issues one.
    pub refresh_token: Option<String>,
}

/// Why a refresh did not give fresh groups.
#[derive(Debug)]
pub enum RefreshFailure {
    /// The provider no longer honours the session (the person was removed, signed out at the
    /// provider, or the token was revoked): sign them out.
    Refused(String),
    /// The provider could not be asked now.
    Unavailable(anyhow::Error),
}

const METADATA_TTL: Duration = Duration::from_secs(300);

pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: SecretString,
    redirect_url: RedirectUrl,
    post_logout_url: PostLogoutRedirectUrl,
    http: openidconnect::reqwest::Client,
    metadata: RwLock<Option<(Instant, Metadata)>>,
}

impl Oidc {
    pub fn new(settings: &AuthSettings, public_url: &url::Url) -> anyhow::Result<Self> {
        let issuer = IssuerUrl::new(settings.issuer_url.clone()).context("auth.issuer_url")?;
        let redirect = public_url
            .join("/auth/callback")
            .context("server.public_url")?;
        let post_logout = public_url.join("/").context("server.public_url")?;
        Ok(Self {
            issuer,
            client_id: ClientId::new(settings.client_id.clone()),
            client_secret: settings.client_secret.clone(),
            redirect_url: RedirectUrl::from_url(redirect),
            post_logout_url: PostLogoutRedirectUrl::from_url(post_logout),
            http: provider_client()?,
            metadata: RwLock::new(None),
        })
    }

    /// Provider metadata and keys, fetched at most every five minutes.
    async fn metadata(&self, force: bool) -> anyhow::Result<Metadata> {
        if !force
            && let Some((fetched, metadata)) = self.metadata.read().await.as_ref()
            && fetched.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let metadata = Metadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| anyhow!("OpenID provider discovery failed: {}", with_causes(&e)))?;
        *self.metadata.write().await = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, metadata: Metadata) -> ClientFor {
        CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }

    /// The provider URL to send the browser to, and what to remember until it comes back.
    pub async fn begin(&self, next: String) -> anyhow::Result<(url::Url, PendingSignIn)> {
        let client = self.client(self.metadata(false).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("groups".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url,
            PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                next,
            },
        ))
    }

    /// Exchanges the code (once) and verifies the ID token's signature, issuer, audience, expiry
    /// and nonce. A token signed with a key the cached metadata does not list makes the
    /// provider's keys be fetched again and the same token verified again.
    pub async fn finish(
        &self,
        pending: PendingSignIn,
        code: String,
    ) -> anyhow::Result<VerifiedSignIn> {
        let client = self.client(self.metadata(false).await?);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| anyhow!("provider has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!("code exchange failed: {}", with_causes(&e)))?;
        let raw = response
            .id_token()
            .ok_or_else(|| anyhow!("token response has no ID token"))?
            .to_string();
        let refresh_token = response.refresh_token().map(|t| t.secret().clone());
        let nonce = Nonce::new(pending.nonce.clone());
        let verified = match verify(&client, &raw, Some(&nonce)) {
            Err(SignInFailure::UnknownKey) => {
                // The provider may have rotated its keys since we cached them.
                let client = self.client(self.metadata(true).await?);
                verify(&client, &raw, Some(&nonce))
            }
            other => other,
        }
        .map_err(SignInFailure::into_anyhow)?;
        Ok(VerifiedSignIn {
            refresh_token,
            ..verified
        })
    }

    /// Reads the person's identity and groups again with their refresh token. The new ID token
    /// must name the same subject.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        subject: &str,
    ) -> Result<VerifiedSignIn, RefreshFailure> {
        let metadata = self
            .metadata(false)
            .await
            .map_err(RefreshFailure::Unavailable)?;
        let client = self.client(metadata);
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(|e| RefreshFailure::Unavailable(anyhow!("no token endpoint: {e}")))?
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(answer) => {
                    RefreshFailure::Refused(format!("the provider answered {}", answer.error()))
                }
                other => {
                    RefreshFailure::Unavailable(anyhow!("refresh failed: {}", with_causes(&other)))
                }
            })?;
        let raw = response
            .id_token()
            .ok_or_else(|| {
                RefreshFailure::Unavailable(anyhow!("the refresh answer has no ID token"))
            })?
            .to_string();
        let verified = match verify(&client, &raw, None) {
            Err(SignInFailure::UnknownKey) => {
                let metadata = self
                    .metadata(true)
                    .await
                    .map_err(RefreshFailure::Unavailable)?;
                verify(&self.client(metadata), &raw, None)
            }
            other => other,
        }
        .map_err(|e| RefreshFailure::Refused(format!("{:#}", e.into_anyhow())))?;
        if verified.subject != subject {
            return Err(RefreshFailure::Refused(
                "the refreshed ID token names another subject".into(),
            ));
        }
        Ok(VerifiedSignIn {
            refresh_token: response
                .refresh_token()
                .map(|t| t.secret().clone())
                .or_else(|| Some(refresh_token.to_owned())),
            ..verified
        })
    }

    /// The provider's logout URL for this session, if the provider offers RP-initiated logout.
    pub async fn logout_url(&self, id_token: Option<String>) -> Option<url::Url> {
        let metadata = self.metadata(false).await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(self.client_id.clone())
            .set_post_logout_redirect_uri(self.post_logout_url.clone());
        if let Some(token) = id_token.and_then(|t| t.parse::<GroupsIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url())
    }
}

/// An error followed by its causes: the provider client's own message is only "Request failed".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// The HTTP client for calls to the provider: discovery and keys, code exchanges, refreshes.
fn provider_client() -> anyhow::Result<openidconnect::reqwest::Client> {
    openidconnect::reqwest::ClientBuilder::new()
        // Following redirects would open the door to SSRF through the provider's answers.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        // Every call on a connection of its own. A provider closes idle connections when it
        // chooses (dev/idp after 5 s of quiet); a code exchange sent on a kept connection just
        // as the provider closed it went unanswered, and cannot be sent again: the code is
        // single-use, and the provider may have read it. Calls are few (sign-ins, refreshes,
        // discovery at most every five minutes), so a new connection each costs little.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client for the identity provider")
}

type ClientFor = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Verifies an ID token with the client's keys: signature, issuer, audience, expiry, and the
/// nonce when the token answers a sign-in (a refreshed token carries none).
fn verify(
    client: &ClientFor,
    raw: &str,
    nonce: Option<&Nonce>,
) -> Result<VerifiedSignIn, SignInFailure> {
    let id_token: GroupsIdToken = raw
        .parse()
        .map_err(|e| SignInFailure::Other(anyhow!("ID token is malformed: {e}")))?;
    let verifier = client.id_token_verifier();
    let checked = match nonce {
        Some(nonce) => id_token.claims(&verifier, nonce),
        None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
    };
    let claims = checked.map_err(|e| match e {
        openidconnect::ClaimsVerificationError::SignatureVerification(_) => {
            SignInFailure::UnknownKey
        }
        other => SignInFailure::Other(anyhow!("ID token rejected: {other}")),
    })?;
    let subject = claims.subject().to_string();
    let display_name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .or_else(|| claims.preferred_username().map(|u| u.to_string()))
        .unwrap_or_else(|| subject.clone());
    let groups = claims
        .additional_claims()
        .groups
        .iter()
        .filter_map(|g| GroupName::parse(g.clone()).ok())
        .collect();
    Ok(VerifiedSignIn {
        subject,
        display_name,
        email: claims.email().map(|e| e.to_string()),
        groups,
        id_token: raw.to_owned(),
        refresh_token: None,
    })
}

enum SignInFailure {
    UnknownKey,
    Other(anyhow::Error),
}

impl SignInFailure {
    fn into_anyhow(self) -> anyhow::Error {
        match self {
            SignInFailure::UnknownKey => {
                anyhow!("ID token signature does not match the provider's keys")
            }
            SignInFailure::Other(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::provider_client;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Reads one HTTP/1.1 request (headers, then a body of `content-length` bytes); false when
    /// the connection ends first.
    async fn read_request(socket: &mut TcpStream, pending: &mut Vec<u8>) -> bool {
        let mut buf = [0_u8; 4096];
        loop {
            if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                let body = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if pending.len() >= end + 4 + body {
                    pending.drain(..end + 4 + body);
                    return true;
                }
            }
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A provider that closes each connection just as a second request arrives on it, as one
    /// closing an idle connection at that moment does: only first requests are answered.
    async fn provider_closing_idle_connections() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    if read_request(&mut socket, &mut pending).await {
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        let _ = socket.write_all(answer).await;
                    }
                    // The next request is read and left unanswered: the connection closes.
                    read_request(&mut socket, &mut pending).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_call_after_the_provider_closed_an_idle_connection_still_reaches_it() {
        let provider = provider_closing_idle_connections().await;
        let client = provider_client().expect("client");
        for call in 1..=3 {
            let response = client
                .post(format!("http://{provider}/token"))
                .form(&[("grant_type", "authorization_code"), ("code", "single-use")])
                .send()
                .await
                .unwrap_or_else(|e| panic!("call {call} got no answer: {e:?}"));
            assert!(response.status().is_success(), "call {call}");
            response.bytes().await.expect("body");
        }
    }
}
