// pages/admin.jsx: the admin page: users, printers, Spoolman, notification and RFID settings, the outbox and location reviews.
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { useAsync, useTitle } from '../ui.jsx';
import { UsersSection } from './admin_users.jsx';
import { PrintersSection } from './admin_printers.jsx';
import { SpoolmanSection } from './admin_spoolman.jsx';
import { WebhookSection } from './admin_webhook.jsx';
import { RfidSection } from './admin_rfid.jsx';
import { OutboxSection } from './admin_outbox.jsx';
import { LocationSection } from './admin_locations.jsx';

/** AdminPage: admins only (the router shows "not found" to members; the API refuses them anyway). */
export function AdminPage({ user }) {
	useTitle('Admin');
	/* One read of the settings for the three sections that edit them; a save reloads it for all three. */
	const settings = useAsync((signal) => api('GET', '/settings', undefined, { signal }), []);
	useEffect(() => {
		// /admin#outbox and the like: scroll to the section once it is there.
		if (location.hash) {
			const el = document.getElementById(location.hash.slice(1));
			if (el)
				el.scrollIntoView();
		}
	}, []);
	return (
		<div class="admin">
			<h1>Admin</h1>
			<nav aria-label="Admin sections" class="subnav">
				<a href="#users">Users</a> <a href="#printers">Printers</a> <a href="#spoolman">Spoolman</a>
				{' '}<a href="#webhook">Notifications</a> <a href="#rfid">RFID</a> <a href="#outbox">Outbox</a>
				{' '}<a href="#locations">Locations</a>
			</nav>
			<UsersSection me={user} />
			<PrintersSection />
			<SpoolmanSection settings={settings} />
			<WebhookSection settings={settings} />
			<RfidSection settings={settings} />
			<OutboxSection />
			<LocationSection />
		</div>
	);
}
