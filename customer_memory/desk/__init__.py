"""The agent desk: one server-rendered page a telephony or chat integration opens on `/desk/?phone=…`,
showing the card and the timeline, with forms for a handover note and a promise."""
