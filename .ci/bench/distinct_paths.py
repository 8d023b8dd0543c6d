"""Sends N GET requests, each to a distinct path of about 2 KB, over one keep-alive connection, without credentials.
Prints how many answers each status code got. Usage: distinct_paths.py PORT N TAG"""
import collections
import http.client
import sys

port, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
codes = collections.Counter()
for i in range(count):
    path = f"/v1/{tag}-{i:06d}/" + "x" * 2000
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    codes[response.status] += 1
print(" ".join(f"{code}x{n}" for code, n in sorted(codes.items())))
