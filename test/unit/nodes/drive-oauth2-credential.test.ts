/**
 * The "Sign in with Google" credential (totvsGoogleDriveOAuth2Api): what n8n's OAuth2 flow needs
 * from its description, how the nodes offer it, and how the token data n8n stores becomes core's
 * OAuth2 config, with clear errors that never carry a token or the client secret.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ICredentialDataDecryptedObject, INodeProperties } from 'n8n-workflow';
import { BackupError } from '../../../core/errors';
import * as credentialModule from '../../../credentials/TotvsGoogleDriveOAuth2Api.credentials';
import { TotvsGoogleDriveOAuth2Api } from '../../../credentials/TotvsGoogleDriveOAuth2Api.credentials';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import {
	CONFIG_FROM_CREDENTIAL,
	DESTINATION_CREDENTIAL,
	googleDriveOAuth2Config,
} from '../../../nodes/shared/destination-credentials';

const ACCESS_TOKEN = 'ya29.a0AfB_byC-access-token-value-0123456789';
const REFRESH_TOKEN = '1//0gLrefresh-token-value-abcdefghijklmnop';
const CLIENT_SECRET = 'GOCSPX-client-secret-value-0123';
const GOOGLE_DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';

/** Credential data as n8n hands it to a node after "Sign in with Google" (null: never signed in). */
function signedIn(tokens: Record<string, unknown> | null = {}): ICredentialDataDecryptedObject {
	return {
		clientId: '123-abc.apps.googleusercontent.com',
		clientSecret: CLIENT_SECRET,
		grantType: 'authorizationCode',
		authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
		accessTokenUrl: 'https://oauth2.googleapis.com/token',
		scope: GOOGLE_DRIVE_SCOPE,
		authQueryParameters: 'access_type=offline&prompt=consent',
		authentication: 'body',
		apiBaseUrl: 'https://www.googleapis.com',
		folderId: ' 1AbCdEfGhIjKlMnOpQrStUvWxYz ',
		...(tokens === null
			? {}
			: {
					oauthTokenData: {
						access_token: ACCESS_TOKEN,
						expires_in: 3599,
						refresh_token: REFRESH_TOKEN,
						scope: GOOGLE_DRIVE_SCOPE,
						token_type: 'Bearer',
						...tokens,
					},
				}),
	};
}

/** The BackupError a mapping throws, and all of its text (message, hint, serialised). */
function failureOf(data: ICredentialDataDecryptedObject): { error: BackupError; text: string } {
	try {
		googleDriveOAuth2Config(data);
	} catch (error) {
		expect(error).toBeInstanceOf(BackupError);
		const backupError = error as BackupError;
		return {
			error: backupError,
			text: `${backupError.message}\n${backupError.hint}\n${JSON.stringify(backupError)}\n${String(backupError.stack)}`,
		};
	}
	throw new Error('expected the mapping to fail');
}

const expectNoSecrets = (text: string) => {
	for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET]) expect(text).not.toContain(secret);
};

describe('TOTVS Google Drive OAuth2 credential: description', () => {
	const credential = new TotvsGoogleDriveOAuth2Api();
	const property = (name: string): INodeProperties => {
		const found = credential.properties.find((p) => p.name === name);
		if (!found) throw new Error(`no property ${name}`);
		return found;
	};

	it("is an OAuth2 credential with Google's sign-in (branded button) and n8n's authorization-code flow", () => {
		expect(credential.name).toBe('totvsGoogleDriveOAuth2Api');
		expect(credential.extends).toEqual(expect.arrayContaining(['oAuth2Api', 'googleOAuth2Api']));
		// Fixed by the credential, not typed by the user
		for (const [name, value] of [
			['grantType', 'authorizationCode'],
			['authUrl', 'https://accounts.google.com/o/oauth2/v2/auth'],
			['accessTokenUrl', 'https://oauth2.googleapis.com/token'],
			['scope', 'https://www.googleapis.com/auth/drive'],
			['authentication', 'body'],
		]) {
			expect(property(name)).toMatchObject({ type: 'hidden', default: value });
		}
		// A refresh token is issued only for offline access, and on a second sign-in only with consent
		const query = new URLSearchParams(String(property('authQueryParameters').default));
		expect(property('authQueryParameters').type).toBe('hidden');
		expect(query.get('access_type')).toBe('offline');
		expect(query.get('prompt')).toBe('consent');
		expect(property('folderId')).toMatchObject({ type: 'string', required: true });
		expect(credential.icon).toEqual({
			light: 'file:totvsGoogleDriveApi.svg',
			dark: 'file:totvsGoogleDriveApi.dark.svg',
		});
		expect(credential.documentationUrl).toMatch(/^https:\/\//);
		// n8n offers no Test button for OAuth2 credentials: the sign-in is the test
		expect((credential as { test?: unknown }).test).toBeUndefined();
		// n8n and the editor e2e test instantiate what a credential file exports
		expect(Object.keys(credentialModule)).toEqual(['TotvsGoogleDriveOAuth2Api']);
	});

	it('is registered in package.json and exported from index.ts', () => {
		const root = join(__dirname, '..', '..', '..');
		const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { n8n: { credentials: string[] } };
		expect(pkg.n8n.credentials).toContain('dist/credentials/TotvsGoogleDriveOAuth2Api.credentials.js');
		expect(readFileSync(join(root, 'index.ts'), 'utf8')).toContain(
			"export { TotvsGoogleDriveOAuth2Api } from './credentials/TotvsGoogleDriveOAuth2Api.credentials';",
		);
	});

	it('is offered by every node with a Google Drive destination, without a testedBy', () => {
		for (const node of [new TotvsUpload(), new TotvsRestoreTest(), new TotvsRestore()]) {
			const destination = node.description.properties.find((p) => p.name === 'destination');
			expect(destination?.options).toEqual(
				expect.arrayContaining([
					expect.objectContaining({ value: 'googleDriveSignIn', name: 'Google Drive (Sign in with Google)' }),
				]),
			);
			const entry = node.description.credentials?.find((c) => c.name === 'totvsGoogleDriveOAuth2Api');
			expect(entry).toMatchObject({
				required: true,
				displayOptions: { show: expect.objectContaining({ destination: ['googleDriveSignIn'] }) },
			});
			expect(entry?.testedBy).toBeUndefined();
		}
		expect(DESTINATION_CREDENTIAL.googleDriveSignIn).toBe('totvsGoogleDriveOAuth2Api');
		expect(CONFIG_FROM_CREDENTIAL.googleDriveSignIn).toBe(googleDriveOAuth2Config);
	});
});

describe('TOTVS Google Drive OAuth2 credential: token data -> core config', () => {
	it("maps the client and n8n's refresh token to core's OAuth2 config", () => {
		expect(googleDriveOAuth2Config(signedIn())).toEqual({
			type: 'google-drive',
			auth: {
				kind: 'oauth2',
				clientId: '123-abc.apps.googleusercontent.com',
				clientSecret: CLIENT_SECRET,
				refreshToken: REFRESH_TOKEN,
			},
			rootFolderId: '1AbCdEfGhIjKlMnOpQrStUvWxYz',
			tokenUrl: 'https://oauth2.googleapis.com/token',
		});
	});

	it('redeems the refresh token at the token URL that issued it, and follows a non-default API URL', () => {
		const config = googleDriveOAuth2Config({
			...signedIn(),
			accessTokenUrl: 'http://127.0.0.1:9/token',
			apiBaseUrl: 'http://127.0.0.1:9/',
		});
		expect(config).toMatchObject({ tokenUrl: 'http://127.0.0.1:9/token', apiBaseUrl: 'http://127.0.0.1:9' });
	});

	it('accepts a grant listing more scopes than drive', () => {
		const config = googleDriveOAuth2Config(
			signedIn({ scope: `openid ${GOOGLE_DRIVE_SCOPE} https://www.googleapis.com/auth/userinfo.email` }),
		);
		expect(config.auth).toMatchObject({ kind: 'oauth2', refreshToken: REFRESH_TOKEN });
	});

	it('a credential never signed in says to sign in', () => {
		const { error, text } = failureOf(signedIn(null));
		expect(error.code).toBe('AUTH_FAILED');
		expect(error.message).toMatch(/not connected to a Google account/);
		expect(error.hint).toMatch(/Sign in with Google/);
		expectNoSecrets(text);
	});

	it.each([
		['no refresh_token', { refresh_token: undefined }],
		['an empty refresh_token', { refresh_token: '  ' }],
	])(
		'token data with %s fails clearly, says to sign in again with offline access, and shows no token',
		(_label, tokens) => {
			const { error, text } = failureOf(signedIn(tokens));
			expect(error.code).toBe('AUTH_FAILED');
			expect(error.message).toMatch(/has no refresh token/);
			expect(error.hint).toMatch(/"Sign in with Google" again/);
			expect(error.hint).toMatch(/offline access/);
			expectNoSecrets(text);
		},
	);

	it('a sign-in where the Drive permission was not granted fails clearly', () => {
		const { error, text } = failureOf(signedIn({ scope: 'openid https://www.googleapis.com/auth/drive.file' }));
		expect(error.code).toBe('AUTH_FAILED');
		expect(error.message).toContain('not granted access to Google Drive');
		expect(error.hint).toMatch(/Sign in again/);
		expectNoSecrets(text);
	});
});
