"""Creates N users in a running scim2-server with 8 threads over keep-alive connections and
prints users/s: the server's own ceiling, without Muster."""
import http.client, json, sys, threading, time
port, n, threads = int(sys.argv[1]), int(sys.argv[2]), 8
done = [0]
lock = threading.Lock()
def work(k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(k, n, threads):
        body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                           "userName": f"ceiling{i}@example.org", "active": True,
                           "name": {"givenName": "G", "familyName": f"F{i}"}, "displayName": f"G F{i}"})
        c.request("POST", "/v2/Users", body, {"Content-Type": "application/scim+json", "Authorization": "Bearer bench"})
        r = c.getresponse(); r.read()
        if r.status != 201: print("status", r.status, file=sys.stderr); return
        with lock: done[0] += 1
t0 = time.time()
ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
took = time.time() - t0
print(f"scim2-server alone: {done[0]} creates in {took:.2f} s = {done[0]/took:.0f} creates/s (8 threads)")
