import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	IDataObject,
	ICredentialTestFunctions,
	ICredentialsDisplayOptions,
	IExecuteFunctions,
	INodeCredentialDescription,
	INodeCredentialTestResult,
} from 'n8n-workflow';
import type { DestinationConfig, FtpConfig, FtpTlsMode, GoogleDriveConfig, SftpConfig } from '../../core/destinations';
import { DRIVE_SCOPE } from '../../core/destinations';
import { BackupError, isBackupError } from '../../core/errors';
import { parseServiceAccountKey } from '../../core/destinations';
import { checkDestination, type Destination } from '../../core/destinations';
import { currentOwner } from '../../core/locking/environment-lock';
import type { LockSettings } from '../../core/upload/set-transfer';
import { testPassed } from './hints';

/** Destination parameter value -> credential type name (Local / Network Folder has none). */
export const DESTINATION_CREDENTIAL = {
	sftp: 'totvsSftp',
	ftp: 'totvsFtp',
	googleDrive: 'totvsGoogleDriveApi',
	googleDriveSignIn: 'totvsGoogleDriveOAuth2Api',
} as const;
export type DestinationChoice = 'local' | keyof typeof DESTINATION_CREDENTIAL;
type RemoteChoice = keyof typeof DESTINATION_CREDENTIAL;

/** The test behind each destination credential's Test button; OAuth2 is tested by n8n's sign-in itself. */
export const DESTINATION_CREDENTIAL_TEST: Partial<Record<RemoteChoice, string>> = {
	sftp: 'totvsSftpConnectionTest',
	ftp: 'totvsFtpConnectionTest',
	googleDrive: 'totvsGoogleDriveConnectionTest',
};

/**
 * What a destination credential entry has besides its name and test: required, shown for its
 * Destination value and for `show` (e.g. Restore Test's "From a Destination").
 */
export function destinationCredentialOptions(
	choice: RemoteChoice,
	show: ICredentialsDisplayOptions['show'] = {},
): Pick<INodeCredentialDescription, 'required' | 'displayOptions'> {
	return { required: true, displayOptions: { show: { ...show, destination: [choice] } } };
}

/**
 * The `credentials` entries of every node that offers the Destination parameter
 * (destination-parameters.ts). n8n's lint rule credential-test-required reads only string
 * literals in a node file, so nodes spell out name and testedBy and spread
 * destinationCredentialOptions(); test/unit/nodes/destination-credentials.test.ts checks that
 * each such node declares exactly these entries.
 */
export function destinationCredentials(show: ICredentialsDisplayOptions['show'] = {}): INodeCredentialDescription[] {
	return (Object.keys(DESTINATION_CREDENTIAL) as RemoteChoice[]).map((choice) => ({
		name: DESTINATION_CREDENTIAL[choice],
		...(DESTINATION_CREDENTIAL_TEST[choice] ? { testedBy: DESTINATION_CREDENTIAL_TEST[choice] } : {}),
		...destinationCredentialOptions(choice, show),
	}));
}

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value)).trim();

export function sftpConfig(data: ICredentialDataDecryptedObject): SftpConfig {
	const byKey = data.authentication !== 'password';
	return {
		type: 'sftp',
		host: text(data.host),
		port: Number(data.port) || 22,
		username: text(data.username),
		...(byKey
			? { privateKey: String(data.privateKey ?? ''), passphrase: String(data.passphrase ?? '') || undefined }
			: { password: String(data.password ?? '') }),
		hostKeySha256: text(data.hostFingerprint),
		folder: text(data.folder) || undefined,
		remoteHash: data.remoteHash !== false,
		transport: data.transport === 'ssh2' ? 'ssh2' : 'auto',
	};
}

export function ftpConfig(data: ICredentialDataDecryptedObject): FtpConfig {
	const tls = (text(data.tls) || 'explicit') as FtpTlsMode;
	return {
		type: 'ftp',
		host: text(data.host),
		port: Number(data.port) || undefined,
		username: text(data.username),
		password: String(data.password ?? ''),
		tls,
		caPem: tls !== 'none' ? text(data.caPem) || undefined : undefined,
		certificateSha256: tls !== 'none' ? text(data.serverFingerprint) || undefined : undefined,
		folder: text(data.folder) || undefined,
	};
}

export function googleDriveConfig(data: ICredentialDataDecryptedObject): GoogleDriveConfig {
	const endpoints =
		data.customEndpoints === true
			? { apiBaseUrl: text(data.apiBaseUrl) || undefined, tokenUrl: text(data.tokenUrl) || undefined }
			: {};
	if (data.authentication === 'oauth2')
		return {
			type: 'google-drive',
			auth: {
				kind: 'oauth2',
				clientId: text(data.clientId),
				clientSecret: String(data.clientSecret ?? ''),
				refreshToken: String(data.refreshToken ?? ''),
			},
			rootFolderId: text(data.folderId),
			...endpoints,
		};
	const key = parseServiceAccountKey(String(data.serviceAccountJson ?? ''));
	return {
		type: 'google-drive',
		auth: { kind: 'serviceAccount', ...key, subject: text(data.subject) || undefined },
		rootFolderId: text(data.folderId),
		...endpoints,
	};
}

const DEFAULT_DRIVE_API = 'https://www.googleapis.com';
const SIGN_IN_AGAIN =
	'Open the credential and click "Sign in with Google" again. It asks Google for offline access, which is what makes Google issue a refresh token; if Google still skips the consent screen, remove the app\'s access at https://myaccount.google.com/permissions and sign in once more.';

/**
 * A "Sign in with Google" credential (n8n's OAuth2 flow; n8n keeps the tokens in
 * `oauthTokenData`) as core's OAuth2 config. Core needs the refresh token: it fetches its own
 * access tokens, from the token URL that issued the refresh token, so long uploads outlive one.
 * Errors never include token values.
 */
export function googleDriveOAuth2Config(data: ICredentialDataDecryptedObject): GoogleDriveConfig {
	const tokens =
		typeof data.oauthTokenData === 'object' && data.oauthTokenData !== null
			? (data.oauthTokenData as IDataObject)
			: undefined;
	if (!tokens)
		throw new BackupError(
			'AUTH_FAILED',
			'The Google Drive OAuth2 credential is not connected to a Google account',
			'Open the credential and click "Sign in with Google".',
		);
	const refreshToken = String(tokens.refresh_token ?? '').trim();
	if (!refreshToken)
		throw new BackupError(
			'AUTH_FAILED',
			'The Google Drive OAuth2 credential has no refresh token, so it cannot work unattended',
			SIGN_IN_AGAIN,
		);
	// Google's consent screen lets the user untick a permission; the token answer lists what was granted.
	const granted = String(tokens.scope ?? '').trim();
	if (granted && !granted.split(/\s+/).includes(DRIVE_SCOPE)) {
		throw new BackupError(
			'AUTH_FAILED',
			`The Google Drive OAuth2 credential was not granted access to Google Drive (${DRIVE_SCOPE})`,
			'Sign in again and allow "See, edit, create and delete all of your Google Drive files".',
		);
	}
	const apiBaseUrl = text(data.apiBaseUrl).replace(/\/+$/, '');
	return {
		type: 'google-drive',
		auth: {
			kind: 'oauth2',
			clientId: text(data.clientId),
			clientSecret: String(data.clientSecret ?? ''),
			refreshToken,
		},
		rootFolderId: text(data.folderId),
		tokenUrl: text(data.accessTokenUrl) || undefined,
		...(apiBaseUrl && apiBaseUrl !== DEFAULT_DRIVE_API ? { apiBaseUrl } : {}),
	};
}

export const CONFIG_FROM_CREDENTIAL: Record<
	keyof typeof DESTINATION_CREDENTIAL,
	(data: ICredentialDataDecryptedObject) => DestinationConfig
> = {
	sftp: sftpConfig,
	ftp: ftpConfig,
	googleDrive: googleDriveConfig,
	googleDriveSignIn: googleDriveOAuth2Config,
};

/** What every destination credential's Test button reports: where it connected, how, and what it found. */
async function testDestination(
	ctx: ICredentialTestFunctions,
	credential: string,
	config: () => DestinationConfig,
	how: (config: DestinationConfig) => string,
): Promise<INodeCredentialTestResult> {
	try {
		const resolved = config();
		const check = await checkDestination(resolved);
		return testPassed(
			ctx,
			credential,
			`Connected to ${check.where}${how(resolved)}; the folder has ${check.entries} entries (${check.folders} folders), and a test file was written and deleted`,
		);
	} catch (error) {
		return {
			status: 'Error',
			message: isBackupError(error) ? `${error.message}. ${error.hint}` : (error as Error).message,
		};
	}
}

const data = (credential: ICredentialsDecrypted) => credential.data ?? {};

export async function testSftpCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	return testDestination(
		this,
		'TOTVS SFTP',
		() => sftpConfig(data(credential)),
		(c) => `; host key ${(c as SftpConfig).hostKeySha256} matches the pinned fingerprint`,
	);
}

export async function testFtpCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	return testDestination(
		this,
		'TOTVS FTP',
		() => ftpConfig(data(credential)),
		(c) => {
			const ftp = c as FtpConfig;
			if (ftp.tls === 'none') return ' over plain FTP (unencrypted)';
			return ftp.certificateSha256
				? ` over TLS (${ftp.tls}); certificate fingerprint matches the pinned one`
				: ` over TLS (${ftp.tls}); certificate validated`;
		},
	);
}

export async function testGoogleDriveCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	return testDestination(
		this,
		'TOTVS Google Drive',
		() => googleDriveConfig(data(credential)),
		(c) => {
			const auth = (c as GoogleDriveConfig).auth;
			return auth.kind === 'serviceAccount'
				? ` as service account ${auth.clientEmail}${auth.subject ? ` acting for ${auth.subject}` : ''}`
				: ' with OAuth2';
		},
	);
}

/** The node's `methods.credentialTest` entries for the destination credentials (names as in DESTINATION_CREDENTIAL_TEST). */
export const destinationCredentialTests = {
	totvsSftpConnectionTest: testSftpCredential,
	totvsFtpConnectionTest: testFtpCredential,
	totvsGoogleDriveConnectionTest: testGoogleDriveCredential,
};

/**
 * The DestinationConfig for item i: the folder parameter for a Local / Network Folder, else the
 * selected credential mapped to its config.
 */
export async function destinationConfigOf(
	ctx: IExecuteFunctions,
	choice: DestinationChoice,
	i: number,
): Promise<DestinationConfig> {
	if (choice === 'local') return { type: 'local', folder: String(ctx.getNodeParameter('localFolder', i, '')).trim() };
	return CONFIG_FROM_CREDENTIAL[choice](await ctx.getCredentials(DESTINATION_CREDENTIAL[choice], i));
}

/**
 * The environment lock's settings for this execution at a destination: owned by the execution,
 * waiting `waitSeconds` for another one, held over `via` (a connection of its own, so renewals
 * never wait behind a long transfer). TOTVS Upload and TOTVS Dump's Send While Dumping.
 */
export function executionLock(ctx: IExecuteFunctions, waitSeconds: number, via: Destination): LockSettings {
	return { owner: currentOwner(ctx.getExecutionId()), options: { waitMs: waitSeconds * 1000 }, via };
}
