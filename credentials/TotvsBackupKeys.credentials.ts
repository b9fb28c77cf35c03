import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The keys of sealed backup sets (issue 12): age public keys sets are encrypted for, the age
 * private key that opens them (only where restores happen), and the Ed25519 keys that sign
 * manifests and verify their signatures. Tested by the nodes' `totvsBackupKeysTest`, which
 * parses every key and reports fingerprints (never a key).
 */
// Keys, not an API: the -Api suffix rules do not apply (as for TOTVS SQL Server).
// eslint-disable-next-line n8n-nodes-base/cred-class-name-unsuffixed
export class TotvsBackupKeys implements ICredentialType {
	// eslint-disable-next-line n8n-nodes-base/cred-class-field-name-unsuffixed
	name = 'totvsBackupKeys';

	// eslint-disable-next-line n8n-nodes-base/cred-class-field-display-name-missing-api
	displayName = 'TOTVS Backup Keys';

	icon = { light: 'file:totvsBackupKeys.svg', dark: 'file:totvsBackupKeys.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#credentials';

	properties: INodeProperties[] = [
		{
			displayName:
				'The backup host needs only public keys (Recipients, and the Signing Key). Keep the Identity only where restores happen. See docs/sealing.md.',
			name: 'notice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Recipients (Age Public Keys)',
			name: 'recipients',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
			description:
				'Sets are encrypted for every key listed, one per line (# comments allowed): the restore key and, for example, an offline escrow key kept in a safe. <code>age-keygen -o key.txt</code> makes a key pair and prints its public key.',
		},
		// A private key: secret, whatever the rule infers from its name.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Identity (Age Private Key)',
			name: 'identity',
			type: 'string',
			typeOptions: { password: true, rows: 3 },
			default: '',
			placeholder: 'AGE-SECRET-KEY-1…',
			description:
				'Only where restores happen (Restore Test, Restore, and Verify of the decrypted content): the content of key.txt. Leave empty on the backup host.',
		},
		// A private key: secret, whatever the rule infers from its name.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Signing Key (Ed25519 Private Key)',
			name: 'signingKey',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			placeholder: '-----BEGIN PRIVATE KEY-----',
			description:
				'Signs every manifest this host writes. Make one with <code>openssl genpkey -algorithm ed25519 -out signing-key.pem</code> and paste the whole file.',
		},
		// Public keys, meant to be read and compared: not a secret, so shown in clear.
		{
			displayName: 'Trusted Signing Keys (Ed25519 Public Keys)',
			name: 'trustedKeys',
			type: 'string',
			// eslint-disable-next-line n8n-nodes-base/cred-class-field-type-options-password-missing
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN PUBLIC KEY-----',
			description:
				'Sets read here must be signed by one of these (PEM from <code>openssl pkey -in signing-key.pem -pubout</code>, or the 32-byte key in base64, several allowed). The Signing Key above is always trusted too.',
		},
	];
}
