/**
 * n8n's editor hides parameters from the node panel when it takes one as the node's "main auth
 * field": a parameter named `authentication`, or else the first parameter named in the
 * credentials' `displayOptions.show` whose every option value selects a credential. That field,
 * and every parameter the auth fields' own display conditions name, then vanish from the panel
 * (the credential selector is meant to stand in for them). Checked in a real n8n 2.40.7 editor:
 * with `restoreServer` as such a field, TOTVS Restore Test lost "Restore Server" and "Backup Set".
 *
 * The rule below mirrors editor-ui's nodeTypesUtils (getNodeAuthFields, findAlternativeAuthField,
 * getMainAuthField, isAuthRelatedParameter) as shipped in n8n 2.40, so a node description that
 * would lose parameters fails here, without a browser.
 */
import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';

/** Parameters named in the credentials' `displayOptions.show` (editor-ui getNodeAuthFields). */
function authFields(node: INodeTypeDescription): INodeProperties[] {
	const names = new Set((node.credentials ?? []).flatMap((c) => Object.keys(c.displayOptions?.show ?? {})));
	return node.properties.filter((p) => names.has(p.name));
}

/** editor-ui getMainAuthField (with findAlternativeAuthField); isNodeParameterRequired is always true there. */
function mainAuthField(node: INodeTypeDescription): INodeProperties | undefined {
	const fields = authFields(node);
	const byName = fields.find(
		(f) => f.name === 'authentication' && !f.options?.some((o) => 'value' in o && o.value === 'none'),
	);
	if (byName) return byName;
	const credentialValues = new Map<string, string[]>();
	for (const credential of node.credentials ?? []) {
		for (const [name, values] of Object.entries(credential.displayOptions?.show ?? {})) {
			credentialValues.set(name, [
				...(credentialValues.get(name) ?? []),
				...(values ?? []).map((v) => (v ? String(v) : '')),
			]);
		}
	}
	return fields.find(
		(f) =>
			!!f.options?.length &&
			f.options.every(
				(o) => !('value' in o) || typeof o.value !== 'string' || credentialValues.get(f.name)!.includes(o.value),
			),
	);
}

/** Parameters the editor leaves out of the node panel, whatever their own display conditions say. */
function hiddenFromPanel(node: INodeTypeDescription): string[] {
	const main = mainAuthField(node);
	if (!main) return [];
	const fields = authFields(node);
	return node.properties
		.filter(
			(p) => p.name === main.name || fields.some((f) => f.displayOptions?.show && p.name in f.displayOptions.show),
		)
		.map((p) => p.displayName);
}

describe("n8n editor's node panel", () => {
	it.each([
		['TOTVS Dump', new TotvsDump().description],
		['TOTVS Verify', new TotvsVerify().description],
		['TOTVS Upload', new TotvsUpload().description],
		['TOTVS Restore Test', new TotvsRestoreTest().description],
		['TOTVS Restore', new TotvsRestore().description],
	])('%s: no parameter is taken for an auth field and hidden', (_name, description) => {
		expect(hiddenFromPanel(description)).toEqual([]);
	});

	it('the rule catches a parameter whose every value selects a credential (Restore Server keyed by name)', () => {
		const description = new TotvsRestoreTest().description;
		const keyedByName = {
			...description,
			credentials: description.credentials!.map((c) => {
				const show = { ...c.displayOptions?.show };
				if ('/restoreServer' in show) {
					show.restoreServer = show['/restoreServer'];
					delete show['/restoreServer'];
				}
				return { ...c, displayOptions: { show } };
			}),
		};
		// Restore Server shows for the database operations only: its own condition names Operation.
		expect(hiddenFromPanel(keyedByName)).toEqual(['Operation', 'Restore Server', 'Backup Set']);
	});
});
