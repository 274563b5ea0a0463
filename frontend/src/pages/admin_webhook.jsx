// pages/admin_webhook.jsx: the notification webhook (URL, write-only signing secret, which events) in the settings.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Loading, formKey, useAction } from '../ui.jsx';

const EVENTS = [
	['spool_runout_forecast', 'A spool will run out during a print'],
	['print_failed', 'A print failed'],
	['outbox_needs_review', 'Spoolman refused an update (needs review)'],
];

/** savedText(r): what the server saved (its answer to PUT /settings), in a sentence. */
function savedText(r) {
	if (!r.webhook_url)
		return 'Saved. Notifications are off (no webhook URL).';
	const ev = (r.webhook_events || []).map((k) => (EVENTS.find(([e]) => e === k) || [k, k])[1]);
	return `Saved. ${ev.length ? 'Sent to ' + r.webhook_url + ' when: ' + ev.join('; ') : 'No event is chosen, so ' +
		'nothing is sent to ' + r.webhook_url}. ${r.webhook_secret_set ? 'Signed with the stored secret.' :
		'Not signed (no secret).'}`;
}

/** WebhookSection: the webhook_* fields of the settings (docs/smart-trays.md, "Webhooks"); settings: AdminPage's. */
export function WebhookSection({ settings }) {
	const act = useAction();
	const [saves, setSaves] = useState(0);	/* each save empties the write-only secret field */
	const s = settings.data;
	const save = async (e) => {
		e.preventDefault();
		const f = new FormData(e.currentTarget);
		const body = { webhook_url: f.get('url').trim(), webhook_events: EVENTS.map(([k]) => k).filter((k) => f.get(k) === 'on') };
		if (f.get('clear_secret') === 'on')
			body.webhook_secret = null;
		else if (f.get('secret'))
			body.webhook_secret = f.get('secret');
		act.run(async () => {
			const r = await api('PUT', '/settings', body);
			setSaves((n) => n + 1);
			settings.reload();
			return savedText(r);
		});
	};
	return (
		<section id="webhook" class="card" aria-labelledby="webhook-h">
			<h2 id="webhook-h">Notifications</h2>
			<ErrorNote error={settings.error} />
			{!s && settings.loading ? <Loading what="settings" /> : null}
			{s ? (
				<form onSubmit={save} key={formKey(s.webhook_url, s.webhook_secret_set, s.webhook_events)}>
					<div class="field"><label for="wh-url">Webhook URL</label>
						<input id="wh-url" name="url" type="url" defaultValue={s.webhook_url || ''}
							placeholder="https://hooks.example/spoolkeeper" maxLength={2048} spellcheck={false}
							aria-describedby="wh-url-hint" />
						<p id="wh-url-hint" class="hint">Empty: no notifications. Each event is POSTed as JSON, retried
							while the receiver is down.</p></div>
					<div class="field"><label for="wh-secret">Signing secret</label>
						<input key={saves} id="wh-secret" name="secret" type="password" autocomplete="new-password"
							aria-describedby="wh-secret-hint" />
						<p id="wh-secret-hint" class="hint">{s.webhook_secret_set ?
							'A secret is stored (encrypted, never shown). Leave empty to keep it.' :
							'None: deliveries are not signed (X-Spoolkeeper-Signature, HMAC-SHA256).'}</p></div>
					{s.webhook_secret_set ? <div class="check"><input id="wh-clear" name="clear_secret"
						type="checkbox" /><label for="wh-clear">Remove the stored secret</label></div> : null}
					<fieldset><legend>Send</legend>
						{EVENTS.map(([k, text]) => <div class="check" key={k}><input id={'wh-' + k} name={k}
							type="checkbox" defaultChecked={(s.webhook_events || []).includes(k)} />
							<label for={'wh-' + k}>{text}</label></div>)}
					</fieldset>
					<div class="row"><button type="submit" disabled={act.busy}>Save notifications</button></div>
					<p class="ok-note" role="status">{act.result || ''}</p>
				</form>
			) : null}
			<ErrorNote error={act.error} />
		</section>
	);
}
