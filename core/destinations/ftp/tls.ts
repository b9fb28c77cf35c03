/**
 * FTPS trust: certificates are validated against the system CAs by default; a user can add a
 * CA / self-signed certificate (PEM) or pin the server certificate's SHA-256 fingerprint. With a
 * pinned fingerprint the certificate is checked before the password is sent, and every
 * connection is then validated against that same certificate. Nothing is accepted silently.
 */
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { Client } from 'basic-ftp';
import { BackupError } from '../../errors';
import type { FtpContext } from './context';

/** Uppercase hex with ':' separators, the form Node and `openssl x509 -fingerprint` use. */
export function normalizeCertFingerprint(value: string): string {
	const hex = value
		.replace(/^sha256\s*(fingerprint)?\s*=?\s*/i, '')
		.replace(/[^0-9a-f]/gi, '')
		.toUpperCase();
	return hex.match(/.{2}/g)?.join(':') ?? '';
}

function certificateChainPem(peer: PeerCertificate & { issuerCertificate?: PeerCertificate }): string[] {
	const pems: string[] = [];
	const seen = new Set<string>();
	for (
		let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = peer;
		cert?.raw && !seen.has(cert.fingerprint256);
		cert = cert.issuerCertificate
	) {
		seen.add(cert.fingerprint256);
		pems.push(new X509Certificate(cert.raw).toString());
	}
	return pems;
}

export function fingerprintError(context: FtpContext, seen: string): BackupError {
	return new BackupError(
		'TLS_CERTIFICATE',
		`The TLS certificate of ${context.config.host}:${context.port} has SHA-256 fingerprint ${seen}, but ${context.pinned} is pinned; connection refused before logging in`,
		'If the server certificate was renewed, check the new fingerprint with the server administrator and update it in the credential. Otherwise someone may be intercepting the connection.',
	);
}

/**
 * TLS options for control and data connections. A pinned fingerprint becomes a trust anchor:
 * the certificate is fetched first on a connection that sends nothing (no login), its
 * fingerprint compared, and only then used as the CA for the real connections, whose
 * handshakes are validated normally (data connections resume that validated session).
 */
export async function tlsOptions(context: FtpContext): Promise<ConnectionOptions> {
	const { config, pinned } = context;
	const options: ConnectionOptions = {
		host: config.host,
		servername: /^[\d.:]+$/.test(config.host) ? undefined : config.host,
		minVersion: 'TLSv1.2',
	};
	if (config.caPem) options.ca = config.caPem;
	if (pinned) {
		if (!config.caPem) {
			const peer = await probeCertificate(context);
			if (normalizeCertFingerprint(peer.fingerprint256 ?? '') !== pinned)
				throw fingerprintError(context, peer.fingerprint256);
			options.ca = certificateChainPem(peer);
		}
		// The pinned certificate is what identifies the server, whatever name it was issued for.
		options.checkServerIdentity = (_host, cert) =>
			normalizeCertFingerprint(cert.fingerprint256) === pinned
				? undefined
				: fingerprintError(context, cert.fingerprint256);
	}
	return options;
}

/** The server's certificate chain, fetched on a connection that never logs in. */
export async function probeCertificate(context: FtpContext): Promise<PeerCertificate> {
	const { config, port } = context;
	const probe = new Client(context.timeoutMs);
	try {
		const options: ConnectionOptions = { host: config.host, rejectUnauthorized: false };
		if (config.tls === 'implicit') await probe.connectImplicitTLS(config.host, port, options);
		else {
			await probe.connect(config.host, port);
			await probe.useTLS(options);
		}
		return (probe.ftp.socket as TLSSocket).getPeerCertificate(true);
	} finally {
		probe.close();
	}
}
