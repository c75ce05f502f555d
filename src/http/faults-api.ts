// /v1/faults: the fault-injection API over HTTP (the table in index.ts), a JSON view of broker.faults.
import { unknownFaultRule, type FaultRules } from '../faults/index.js';
import { HttpError, type Route } from './index.js';

function ruleId(param: string | undefined): number {
  if (param === undefined || !/^\d+$/.test(param)) throw new HttpError(404, 'UNKNOWN_FAULT_RULE', `no fault rule with id ${JSON.stringify(param)}`);
  return Number(param);
}

export function faultRoutes(faults: FaultRules): Route[] {
  return [
    { method: 'GET', path: '/v1/faults', handle: () => ({ status: 200, body: { rules: faults.list() } }) },
    {
      method: 'POST',
      path: '/v1/faults',
      handle: ({ body }) => {
        const id = faults.add(body as never);
        return { status: 201, body: faults.list().find((r) => r.id === id) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/faults',
      handle: () => {
        const removed = faults.list().length;
        faults.clear();
        return { status: 200, body: { removed } };
      },
    },
    {
      method: 'GET',
      path: '/v1/faults/:id',
      handle: ({ param }) => {
        const rule = faults.list().find((r) => r.id === ruleId(param));
        if (rule === undefined) throw unknownFaultRule(param);
        return { status: 200, body: rule };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/faults/:id',
      handle: ({ param }) => {
        if (!faults.remove(ruleId(param))) throw unknownFaultRule(param);
        return { status: 200, body: { removed: 1 } };
      },
    },
  ];
}
