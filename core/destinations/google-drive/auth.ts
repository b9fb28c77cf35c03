/**
 * Access tokens for Drive: a service account key (JWT bearer grant, optional domain-wide
 * delegation `subject`) or an OAuth2 refresh token. Tokens are fetched here so the token URL can
 * point at a test emulator (the client library hard-codes it for service accounts).
 */
import { createSign } from 'node:crypto';
import { BackupError } from '../../errors';
import type { GoogleDriveConfig } from '../destination';
import { withRetries } from '../retry';
import { DriveHttpError, isTransient } from './errors';

/** Full Drive access: the scope every credential kind asks for (why not drive.file: see the OAuth2 credential). */
export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';

function base64url(data: Buffer | string): string {
	return Buffer.from(data).toString('base64url');
}

export async function fetchToken(
	config: GoogleDriveConfig,
	tokenUrl: string,
	timeoutMs: number,
): Promise<{ access_token: string; expiry_date: number }> {
	const authConfig = config.auth;
	const form = new URLSearchParams();
	if (authConfig.kind === 'serviceAccount') {
		const now = Math.floor(Date.now() / 1000);
		const claims: Record<string, string | number> = {
			iss: authConfig.clientEmail,
			scope: DRIVE_SCOPE,
			aud: tokenUrl,
			iat: now,
			exp: now + 3600,
		};
		if (authConfig.subject) claims.sub = authConfig.subject;
		const unsigned = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
		let signature: string;
		try {
			signature = createSign('RSA-SHA256')
				.update(unsigned)
				.sign(authConfig.privateKey.replace(/\\n/g, '\n'), 'base64url');
		} catch (error) {
			throw new BackupError(
				'AUTH_FAILED',
				`The service account private key for ${authConfig.clientEmail} cannot be used: ${(error as Error).message}`,
				'Paste the "private_key" value from the JSON key file exactly, including the BEGIN/END lines.',
				{ cause: error },
			);
		}
		form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
		form.set('assertion', `${unsigned}.${signature}`);
	} else {
		form.set('grant_type', 'refresh_token');
		form.set('client_id', authConfig.clientId);
		form.set('client_secret', authConfig.clientSecret);
		form.set('refresh_token', authConfig.refreshToken);
	}
	const response = await withRetries(
		async () => {
			const answer = await fetch(tokenUrl, {
				method: 'POST',
				body: form,
				signal: AbortSignal.timeout(timeoutMs),
			});
			if (answer.status >= 500 || answer.status === 429)
				throw new DriveHttpError(answer.status, undefined, `token endpoint answered ${answer.status}`);
			return answer;
		},
		isTransient,
		{ maxRetries: 3 },
	).catch((error) => {
		throw new BackupError(
			'UNREACHABLE',
			`Cannot reach Google's token endpoint ${tokenUrl}: ${(error as Error).message}`,
			"Check this machine's internet access (and proxy settings) to oauth2.googleapis.com.",
			{ cause: error },
		);
	});
	const body = (await response.json().catch(() => ({}))) as {
		access_token?: string;
		expires_in?: number;
		error?: string;
		error_description?: string;
	};
	if (!response.ok || !body.access_token) {
		const detail = `${body.error ?? response.status}${body.error_description ? `: ${body.error_description}` : ''}`;
		const hint =
			authConfig.kind === 'serviceAccount'
				? authConfig.subject
					? `Check the key, and that domain-wide delegation for this service account's client id is allowed for scope ${DRIVE_SCOPE} in the Workspace admin console, and that ${authConfig.subject} exists.`
					: 'Check that the service account key is current (not deleted in Google Cloud) and pasted completely.'
				: 'The refresh token may be revoked or expired (tokens of apps in "testing" expire after 7 days): sign in again in the credential.';
		throw new BackupError('AUTH_FAILED', `Google refused the credentials (${detail})`, hint);
	}
	return { access_token: body.access_token, expiry_date: Date.now() + (body.expires_in ?? 3600) * 1000 };
}
