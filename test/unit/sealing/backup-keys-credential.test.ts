import { generateKeyPairSync } from 'node:crypto';
import type { ICredentialTestFunctions } from 'n8n-workflow';
import { generateAgeIdentity } from '../../../core/sealing';
import { testBackupKeysCredential } from '../../../nodes/shared/backup-keys';

const owner = generateAgeIdentity();
const escrow = generateAgeIdentity();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const test = (data: Record<string, string>) =>
	testBackupKeysCredential.call({} as ICredentialTestFunctions, {
		id: 'k',
		name: 'keys',
		type: 'totvsBackupKeys',
		data,
	});

describe('the TOTVS Backup Keys credential test', () => {
	it('parses every key and reports fingerprints, never a key', async () => {
		const result = await test({
			recipients: `${owner.recipient}\n# escrow\n${escrow.recipient}`,
			identity: owner.identity,
			signingKey,
		});
		expect(result.status).toBe('OK');
		expect(result.message).toContain(`encrypts for 2 recipient(s): ${owner.fingerprint}, ${escrow.fingerprint}`);
		expect(result.message).toContain(`identity opens sets sealed for ${owner.fingerprint}`);
		expect(result.message).toMatch(/signs with key [0-9a-f]{16}/);
		expect(result.message).not.toContain(owner.identity);
		expect(result.message).not.toContain('PRIVATE KEY');
	});

	it('names the field and line of a recipient that is not an age public key', async () => {
		const result = await test({ recipients: `${owner.recipient}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5` });
		expect(result).toMatchObject({ status: 'Error' });
		expect(result.message).toMatch(/field "Recipients": Recipient at line 2 is not an age public key/);
	});

	it('says when the credential holds no key', async () => {
		expect(await test({})).toMatchObject({ status: 'Error', message: expect.stringMatching(/holds no key/) });
	});
});
