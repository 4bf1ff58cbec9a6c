// The order in which the events of one group (endpoint + session) are delivered: by the time they
// happened (the envelope's `timestamp`), then by event id; equal times keep the queue's order.
// Times are compared as UTC ISO strings with milliseconds, so an offset such as `+02:00` in a
// stored timestamp cannot misplace an event.

/** The event time as a sortable key (UTC ISO, milliseconds); an unparsable time sorts as given. */
export const eventOrderTime = (timestamp: string): string => {
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? timestamp : new Date(ms).toISOString();
};

/** The sort key of one delivery among its group's pending ones. */
export const pendingOrderKey = (timestamp: string, eventId: string): string =>
  `${eventOrderTime(timestamp)}#${eventId}`;
