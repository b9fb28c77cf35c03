/**
 * The keys an execution works with (issue 12): whom new sets are sealed for, which identities
 * open sealed sets, which key signs manifests and which keys a manifest's signature must verify
 * against. A node parses its "TOTVS Backup Keys" credential once and runs its work inside
 * `withSetKeys`; the set writer and the one manifest reader (`readSet`) find the keys there, so
 * every path that writes or reads a set (dump, verify, upload, download, restore tests, chains)
 * seals, unseals and checks signatures the same way, without each layer passing keys along.
 * The context is per async call chain (AsyncLocalStorage): two executions running at once in
 * one n8n process never see each other's keys. Outside it, sets are written in the clear and
 * unsigned, as before the feature (the default).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
	parseIdentities,
	parseRecipients,
	parseSigningKey,
	parseSigningPublicKeys,
	SealingError,
	type AgeIdentity,
	type AgeRecipient,
	type SigningKey,
	type SigningPublicKey,
} from '../sealing';

export interface SetKeys {
	/** Seal new sets for these recipients (age public keys). Absent: new sets are written in the clear. */
	recipients?: readonly AgeRecipient[];
	/** Open sealed sets (restores, Verify's plaintext check). */
	identities?: readonly AgeIdentity[];
	/** Sign every manifest (and restore record) written. */
	signingKey?: SigningKey;
	/**
	 * A manifest read must be signed by one of these (the signing key's own public half is always
	 * included). Absent or empty: signatures are not checked.
	 */
	trustedKeys?: readonly SigningPublicKey[];
	/** Accept sets without a signature file (made before signing was turned on). */
	allowUnsigned?: boolean;
}

const context = new AsyncLocalStorage<SetKeys>();

/** Runs `work` with `keys` as the keys of every set written or read inside it. */
export function withSetKeys<T>(keys: SetKeys | undefined, work: () => Promise<T>): Promise<T> {
	return keys ? context.run(keys, work) : work();
}

/** The keys of the current execution, if it set any. */
export function currentSetKeys(): SetKeys | undefined {
	return context.getStore();
}

/** The keys that verify signatures: the trusted keys and the signing key's public half. */
export function verifyingKeys(keys: SetKeys | undefined): SigningPublicKey[] {
	const out = new Map<string, SigningPublicKey>();
	for (const key of keys?.trustedKeys ?? []) out.set(key.fingerprint, key);
	if (keys?.signingKey) out.set(keys.signingKey.publicKey.fingerprint, keys.signingKey.publicKey);
	return [...out.values()];
}

/** The credential's fields as text, before parsing. */
export interface SetKeysText {
	recipients?: string;
	identity?: string;
	signingKey?: string;
	trustedKeys?: string;
}

/** What a use needs from the keys; checked up front so a missing key is a clear error before any work. */
export interface SetKeysNeeds {
	/** Seal new sets: recipients are required. */
	encrypt?: boolean;
	/** Sign new manifests: the signing key is required. */
	sign?: boolean;
	allowUnsigned?: boolean;
}

/**
 * Parses the credential's text fields (each optional) into SetKeys. Throws a SealingError
 * naming the field when a key is malformed, or when `needs` asks for a key that is absent.
 */
export function parseSetKeys(text: SetKeysText, needs: SetKeysNeeds = {}): SetKeys {
	const present = (value: string | undefined) => (value ?? '').replace(/^\s*#.*$/gm, '').trim() !== '';
	const inField = <T>(field: string, parse: () => T): T => {
		try {
			return parse();
		} catch (error) {
			if (error instanceof SealingError) {
				throw new SealingError(error.reason, `Backup Keys credential, field "${field}": ${error.message}`, error.hint, {
					cause: error,
				});
			}
			throw error;
		}
	};
	const keys: SetKeys = { allowUnsigned: needs.allowUnsigned ?? false };
	if (present(text.recipients)) keys.recipients = inField('Recipients', () => parseRecipients(text.recipients!));
	if (present(text.identity)) keys.identities = inField('Identity', () => parseIdentities(text.identity!));
	if (present(text.signingKey)) keys.signingKey = inField('Signing Key', () => parseSigningKey(text.signingKey!));
	if (present(text.trustedKeys))
		keys.trustedKeys = inField('Trusted Signing Keys', () => parseSigningPublicKeys(text.trustedKeys!));
	if (needs.encrypt && !keys.recipients)
		throw new SealingError(
			'NO_RECIPIENTS',
			'Encryption is on but the Backup Keys credential has no recipient, so nothing was written.',
			'Put at least one age public key (age1…) in the credential\'s Recipients, one per line (`age-keygen -o key.txt` prints one), or turn "Encrypt and Sign" off.',
		);
	if (needs.sign && !keys.signingKey)
		throw new SealingError(
			'SIGNING_KEY_INVALID',
			'Encryption and signing are on but the Backup Keys credential has no signing key, so nothing was written.',
			"Put an Ed25519 private key in the credential's Signing Key (`openssl genpkey -algorithm ed25519 -out signing-key.pem`).",
		);
	return keys;
}
