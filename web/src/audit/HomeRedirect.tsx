// Where "/" leads: auditors and admins start on the audit page (they approve nothing, they
// search and check records); everyone else on their inbox.
import { Navigate } from "react-router";
import { useUser } from "../auth/AuthContext";

export const startsOnAudit = (groups: string[]): boolean => groups.includes("auditor") || groups.includes("admin");

export function HomeRedirect() {
  const user = useUser();
  return <Navigate to={startsOnAudit(user.groups) ? "/audit" : "/inbox"} replace />;
}
