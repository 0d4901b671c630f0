//! Sends reports over SMTP (lettre, rustls) in the background: a run never waits for mail and
//! never fails because of it. A send that fails is logged and tried again with growing waits,
//! a bounded number of times ([`Retry`]); a refusal the server calls permanent is not retried.

use crate::config::{EmailSettings, Retry, SmtpSecurity};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("server.email.password: {0}")]
    Password(#[from] muster_connectors::SecretError),
    #[error("server.email.ca_file: cannot read `{path}`: {source}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("server.email: cannot set up TLS to `{host}`: {source}")]
    Tls {
        host: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    retry: Retry,
    /// Sends under way, so a shutdown can give them a moment.
    sending: Mutex<JoinSet<()>>,
}

impl Mailer {
    /// Reads the password and CA file and sets up the transport (no connection yet).
    pub fn new(settings: &EmailSettings) -> Result<Self, MailerError> {
        let host = settings.host.as_str();
        let tls = || -> Result<TlsParameters, MailerError> {
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(path) = &settings.ca_file {
                let pem = std::fs::read(path).map_err(|source| MailerError::CaFile {
                    path: path.display().to_string(),
                    source,
                })?;
                let cert = Certificate::from_pem(&pem).map_err(|source| MailerError::Tls {
                    host: host.to_owned(),
                    source,
                })?;
                params = params.add_root_certificate(cert);
            }
            params.build_rustls().map_err(|source| MailerError::Tls {
                host: host.to_owned(),
                source,
            })
        };
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::NoneLoopbackOnly => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(login) = &settings.login {
            let password = login.password.resolve()?;
            builder = builder.credentials(Credentials::new(
                login.user.clone(),
                password.expose().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            retry: settings.retry,
            sending: Mutex::new(JoinSet::new()),
        })
    }

    /// Sends `message` in the background, retrying as configured; `run` names it in logs.
    pub fn send_in_background(self: &Arc<Self>, message: Message, run: String) {
        let this = self.clone();
        let mut sending = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        // Forget the sends that ended.
        while sending.try_join_next().is_some() {}
        sending.spawn(async move { this.send(message, &run).await });
    }

    async fn send(&self, message: Message, run: &str) {
        for attempt in 1..=self.retry.attempts {
            tokio::time::sleep(self.retry.delay_before(attempt)).await;
            match self.transport.send(message.clone()).await {
                Ok(_) => {
                    tracing::info!(run, attempt, "Run report sent.");
                    return;
                }
                Err(e) if e.is_permanent() => {
                    tracing::error!(run, attempt, error = %e, "The SMTP server refused the run report; not retried.");
                    return;
                }
                Err(e) => {
                    let next = self.retry.delay_before(attempt + 1);
                    if attempt < self.retry.attempts {
                        tracing::warn!(run, attempt, error = %e, retry_in = ?next, "The run report could not be sent; trying again.");
                    } else {
                        tracing::error!(run, attempt, error = %e, "The run report could not be sent; giving up.");
                    }
                }
            }
        }
    }

    /// Waits up to `grace` for the sends under way; returns whether they all ended.
    pub async fn drain(&self, grace: Duration) -> bool {
        let mut set = std::mem::take(&mut *self.sending.lock().unwrap_or_else(|p| p.into_inner()));
        let all = async { while set.join_next().await.is_some() {} };
        let ended = tokio::time::timeout(grace, all).await.is_ok();
        set.abort_all();
        ended
    }
}
