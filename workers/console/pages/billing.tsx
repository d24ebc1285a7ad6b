/** @jsxImportSource hono/jsx */
import type { TenantBilling as BillingAccount } from "../../../shared/billing/customers";
import { PLANS, type Plan, type PlanLimitTable } from "../../../shared/plans";
import { Notice, PostForm } from "../ui/forms";
import { Layout, type Viewer } from "../ui/layout";
import { formatCount } from "../ui/numbers";

const date = (iso: string) => `${iso.replace("T", " ").slice(0, 16)} UTC`;
const RANK: Record<Plan, number> = { free: 0, pro: 1, team: 2 };

export type CheckoutReturn = "success" | "cancelled" | null;

function Limits(props: { limits: PlanLimitTable[Plan] }) {
  const { limits } = props;
  return (
    <dl class="facts">
      <dt>Requests</dt>
      <dd>{formatCount(limits.requestsPerMinute)} a minute</dd>
      <dt>Tool calls</dt>
      <dd>{limits.toolCallsPerMonth === null ? "unlimited" : `${formatCount(limits.toolCallsPerMonth)} a month`}</dd>
      <dt>MCP sessions</dt>
      <dd>{formatCount(limits.sessions)} at once</dd>
    </dl>
  );
}

function returnNotice(checkout: CheckoutReturn, plan: Plan): string | null {
  if (checkout === "cancelled") return "Checkout was cancelled; nothing was charged.";
  if (checkout !== "success") return null;
  return plan === "free"
    ? "Payment received. Stripe is confirming it; your plan changes within a few seconds — reload this page."
    : `Thank you: you are on the ${plan} plan.`;
}

export function BillingPage(props: {
  viewer: Viewer;
  account: BillingAccount;
  limits: PlanLimitTable;
  configured: boolean;
  checkout: CheckoutReturn;
}) {
  const { viewer, account, limits } = props;
  const subscribed = account.subscription !== null && account.subscription.status !== "canceled";
  const canChange = props.configured && viewer.verified;
  return (
    <Layout title="Billing" viewer={viewer} section="billing">
      <h1>Billing</h1>
      <Notice message={returnNotice(props.checkout, account.plan)} />
      {account.paymentFailedAt ? (
        <div class="banner" role="alert">
          <strong>Your last payment failed</strong> ({date(account.paymentFailedAt)}).{" "}
          {account.graceEndsAt
            ? `The ${account.plan} plan stays in force until ${date(account.graceEndsAt)}; after that the account returns to the free plan.`
            : null}{" "}
          Update the payment method with Manage billing.
        </div>
      ) : null}
      <section class="card" aria-labelledby="plan-heading">
        <h2 id="plan-heading">
          Your plan: <span class="plan-name">{account.plan}</span>
        </h2>
        <Limits limits={limits[account.plan]} />
        {account.subscription ? (
          <p>
            Subscription {account.subscription.status}
            {account.subscription.currentPeriodEnd
              ? account.subscription.cancelAtPeriodEnd
                ? `; ends ${date(account.subscription.currentPeriodEnd)}.`
                : `; renews ${date(account.subscription.currentPeriodEnd)}.`
              : "."}
          </p>
        ) : (
          <p class="muted">No subscription: the free plan costs nothing.</p>
        )}
        {!props.configured ? (
          <p class="muted">Billing is not set up on this deployment.</p>
        ) : !viewer.verified ? (
          <p>Confirm your email address to change billing (see the banner above).</p>
        ) : account.customerId ? (
          <PostForm action="/app/billing/portal" csrf={viewer.csrf}>
            <p>Change the payment method or the plan, see invoices, or cancel, on Stripe.</p>
            <button type="submit" class="secondary">
              Manage billing
            </button>
          </PostForm>
        ) : null}
      </section>
      <section aria-labelledby="plans-heading">
        <h2 id="plans-heading">Plans</h2>
        <div class="plans">
          {PLANS.map((plan) => (
            <section class={plan === account.plan ? "card current" : "card"} aria-labelledby={`plan-${plan}`}>
              <h3 id={`plan-${plan}`}>
                {plan}
                {plan === account.plan ? <span class="muted"> (current)</span> : null}
              </h3>
              <Limits limits={limits[plan]} />
              {plan !== "free" && RANK[plan] > RANK[account.plan] && canChange && !subscribed ? (
                <PostForm action="/app/billing/checkout" csrf={viewer.csrf} label={`Upgrade to ${plan}`}>
                  <input type="hidden" name="plan" value={plan} />
                  <button type="submit">Upgrade to {plan}</button>
                </PostForm>
              ) : null}
            </section>
          ))}
        </div>
        {subscribed && canChange ? (
          <p class="muted">To move to another paid plan, use Manage billing: Stripe prorates the change.</p>
        ) : null}
      </section>
    </Layout>
  );
}
