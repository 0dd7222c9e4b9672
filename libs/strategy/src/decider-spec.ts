/**
 * Given / when / then for strategy deciders (after Emmett's DeciderSpecification):
 *
 *   spec(decider)
 *     .given([markets, balances, books, funding])   // inputs folded in, outputs ignored
 *     .when(tick)                                    // one input or several
 *     .thenAssert(({ decisions, commands, state }) => ...) // assertions
 *
 * plus shorthands for the common checks. `given` may also start from a saved state.
 */
import assert from 'node:assert/strict';
import type { Decision, StrategyCommand, StrategyDecider, StrategyInput } from './model.js';

export interface WhenResult<S> {
  /** State after the `given` inputs, before `when`. */
  readonly before: S;
  readonly state: S;
  readonly decisions: Decision[];
  readonly commands: StrategyCommand[];
}

export interface Then<S> {
  readonly result: WhenResult<S>;
  thenAssert(check: (result: WhenResult<S>) => void): Then<S>;
  /** The decisions, in order, match these partial shapes (kind, reasonCode...). */
  thenDecisions(expected: ReadonlyArray<Partial<Pick<Decision, 'kind' | 'reasonCode'>>>): Then<S>;
  /** Some decision matches. */
  thenDecided(expected: Partial<Pick<Decision, 'kind' | 'reasonCode'>>): Then<S>;
  thenNoCommands(): Then<S>;
  thenNothingHappened(): Then<S>;
}

export function spec<S>(decider: StrategyDecider<S>) {
  return {
    given(inputs: ReadonlyArray<StrategyInput>, from: S = decider.initialState()) {
      let before = from;
      for (const input of inputs) before = decider.step(before, input).state;
      return {
        state: before,
        when(input: StrategyInput | ReadonlyArray<StrategyInput>): Then<S> {
          const list = Array.isArray(input) ? (input as StrategyInput[]) : [input as StrategyInput];
          const decisions: Decision[] = [];
          const commands: StrategyCommand[] = [];
          let state = before;
          for (const i of list) {
            const r = decider.step(state, i);
            state = r.state;
            decisions.push(...r.decisions);
            commands.push(...r.commands);
          }
          return thenFor({ before, state, decisions, commands });
        },
      };
    },
  };
}

function describeDecisions(decisions: ReadonlyArray<Decision>): string {
  return decisions.map((d) => `${d.kind}/${d.reasonCode}`).join(', ') || '(none)';
}

function thenFor<S>(result: WhenResult<S>): Then<S> {
  const self: Then<S> = {
    result,
    thenAssert(check) {
      check(result);
      return self;
    },
    thenDecisions(expected) {
      const actual = result.decisions.map((d) => ({
        ...(expected.some((e) => 'kind' in e) ? { kind: d.kind } : {}),
        ...(expected.some((e) => 'reasonCode' in e) ? { reasonCode: d.reasonCode } : {}),
      }));
      assert.deepEqual(
        actual.map((a, i) => pick(a, expected[i] ?? {})),
        expected.map((e) => ({ ...e })),
        `decisions were: ${describeDecisions(result.decisions)}`,
      );
      return self;
    },
    thenDecided(expected) {
      assert.ok(
        result.decisions.some((d) =>
          Object.entries(expected).every(([k, v]) => d[k as keyof Decision] === v),
        ),
        `no decision matches ${JSON.stringify(expected)}; decisions were: ${describeDecisions(result.decisions)}`,
      );
      return self;
    },
    thenNoCommands() {
      assert.deepEqual(
        result.commands,
        [],
        `expected no commands; decisions: ${describeDecisions(result.decisions)}`,
      );
      return self;
    },
    thenNothingHappened() {
      assert.deepEqual(result.commands, []);
      assert.deepEqual(result.decisions, [], `decisions were: ${describeDecisions(result.decisions)}`);
      return self;
    },
  };
  return self;
}

function pick(actual: Record<string, unknown>, like: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) out[k] = actual[k];
  return out;
}
