// Who is signed in. The session cookie (HttpOnly, set by POST /auth/login) is the credential;
// GET /me on load tells whether it is still valid. Any 401 afterwards signs the user out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, onUnauthorized, type User } from "../api";

interface AuthState {
  /** undefined while the first GET /me is in flight. */
  user: User | null | undefined;
  expired: boolean;
  signIn: (username: string, password: string) => Promise<User>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    let live = true;
    api.me().then(
      (me) => live && setUser(me),
      () => live && setUser(null),
    );
    const off = onUnauthorized(() => {
      setUser((current) => {
        if (current) setExpired(true);
        return null;
      });
    });
    return () => {
      live = false;
      off();
    };
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    const { user: me } = await api.login(username, password);
    setExpired(false);
    setUser(me);
    return me;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setExpired(false);
      setUser(null);
    }
  }, []);

  const value = useMemo(() => ({ user, expired, signIn, signOut }), [user, expired, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

/** The signed-in user, for pages behind RequireAuth. */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error("useUser without a signed-in user");
  return user;
}
