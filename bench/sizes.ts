/** How much each row does in a full run and with `--quick`. */
export const SIZES = {
  full: {
    p1: { sessions: 200 },
    p2: { sessions: 20, messagesEach: 5 },
    p3: { sessions: 200 },
    p4: { outbound: 20, inbound: 10 },
    p5: { runs: 3 },
    p6: { sessions: 20 },
  },
  quick: {
    p1: { sessions: 40 },
    p2: { sessions: 10, messagesEach: 3 },
    p3: { sessions: 40 },
    p4: { outbound: 5, inbound: 3 },
    p5: { runs: 1 },
    p6: { sessions: 10 },
  },
} as const;

export type Rows = (typeof SIZES)['full'] | (typeof SIZES)['quick'];
