import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeProperties,
	NodeParameterValue,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { parseSetKeys, type SetKeys, type SetKeysNeeds } from '../../core/backup-set/set-keys';
import { isBackupError } from '../../core/errors';

/**
 * The "TOTVS Backup Keys" credential in the nodes (issue 12): its Test button, the parameters
 * that turn it on, and its parsing into the keys core/backup-set works with (set-keys.ts).
 */
export const BACKUP_KEYS_CREDENTIAL = 'totvsBackupKeys';
export const BACKUP_KEYS_TEST = 'totvsBackupKeysTest';

const text = (data: ICredentialDataDecryptedObject, field: string) =>
	typeof data[field] === 'string' ? (data[field] as string) : undefined;

function parseCredential(data: ICredentialDataDecryptedObject, needs: SetKeysNeeds = {}): SetKeys {
	return parseSetKeys(
		{
			recipients: text(data, 'recipients'),
			identity: text(data, 'identity'),
			signingKey: text(data, 'signingKey'),
			trustedKeys: text(data, 'trustedKeys'),
		},
		needs,
	);
}

/** What the keys are, by fingerprint only (never a key): the credential test's message. */
export function describeKeys(keys: SetKeys): string {
	const parts: string[] = [];
	const recipients = keys.recipients ?? [];
	parts.push(
		recipients.length
			? `encrypts for ${recipients.length} recipient(s): ${recipients.map((r) => r.fingerprint).join(', ')}`
			: 'no recipients (cannot encrypt)',
	);
	const identities = keys.identities ?? [];
	if (identities.length) {
		const fingerprints = identities.map((i) => i.recipient.fingerprint);
		const known = recipients.length ? fingerprints.filter((f) => recipients.some((r) => r.fingerprint === f)) : [];
		parts.push(
			`identity opens sets sealed for ${fingerprints.join(', ')}` +
				(recipients.length && known.length === 0 ? ' (none of the recipients above: check it is the right key)' : ''),
		);
	} else parts.push('no identity (cannot decrypt: right for the backup host)');
	parts.push(keys.signingKey ? `signs with key ${keys.signingKey.publicKey.fingerprint}` : 'no signing key');
	const trusted = (keys.trustedKeys ?? []).map((k) => k.fingerprint);
	if (trusted.length) parts.push(`trusts signatures by ${trusted.join(', ')}`);
	return parts.join('; ');
}

/** The credential's Test button: every key parses; the message lists fingerprints. */
export async function testBackupKeysCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const keys = parseCredential(credential.data ?? {});
		if (!keys.recipients && !keys.identities && !keys.signingKey && !keys.trustedKeys)
			return { status: 'Error', message: 'The credential holds no key: fill at least Recipients or Identity.' };
		return { status: 'OK', message: `Keys read: ${describeKeys(keys)}` };
	} catch (error) {
		const message = isBackupError(error) ? `${error.message} ${error.hint}` : (error as Error).message;
		return { status: 'Error', message };
	}
}

/** Verify, Upload (Download), Restore Test: check signatures and, with an identity, open sealed sets. */
export const useBackupKeysProperties = (show: Record<string, NodeParameterValue[]> = {}): INodeProperties[] => [
	{
		displayName: 'Use Backup Keys',
		name: 'useBackupKeys',
		type: 'boolean',
		default: false,
		displayOptions: Object.keys(show).length ? { show } : undefined,
		description:
			"Whether to check each set's signature against the TOTVS Backup Keys credential (and, where it holds the identity, open sealed sets). A set whose signature does not verify is refused.",
	},
	{
		displayName: 'Accept Unsigned Sets',
		name: 'allowUnsigned',
		type: 'boolean',
		default: false,
		displayOptions: { show: { ...show, useBackupKeys: [true] } },
		description:
			'Whether to accept sets without a signature (made before signing was turned on). Only if you trust the destination: an unsigned set may have been replaced.',
	},
];

/**
 * The keys of this execution, or undefined when `parameter` is off. Parsed once, before any
 * item: a malformed key, or a key `needs` requires but the credential lacks, fails the node
 * before anything is written.
 */
export async function readBackupKeys(
	ctx: IExecuteFunctions,
	parameter: string,
	needs: SetKeysNeeds = {},
): Promise<SetKeys | undefined> {
	if (ctx.getNodeParameter(parameter, 0, false) !== true) return undefined;
	const allowUnsigned = ctx.getNodeParameter('allowUnsigned', 0, false) === true;
	const data = await ctx.getCredentials(BACKUP_KEYS_CREDENTIAL);
	try {
		return parseCredential(data, { ...needs, allowUnsigned: needs.allowUnsigned ?? allowUnsigned });
	} catch (error) {
		if (!isBackupError(error)) throw new NodeOperationError(ctx.getNode(), error as Error);
		const nodeError = new NodeOperationError(ctx.getNode(), error.message, { description: error.hint });
		nodeError.message = error.message;
		throw nodeError;
	}
}
