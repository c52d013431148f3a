"""Sample instructions, part A: instruction-following and explanation."""

from textwrap import dedent as d

ROWS = [
    # ---------------------------------------------------------------- instruction-following
    {
        "preference": "instruction-following",
        "instruction": d("""\
            Write a Python function `chunk(items, size)` that splits a list into consecutive
            chunks of length `size` (the last chunk may be shorter). Do not use any imports.
            Raise ValueError when size is not a positive integer."""),
        "answers": [
            ("gpt-4", 5, "Meets every requirement: no imports, ValueError on a non-positive or non-integer size, a shorter final chunk, and a consecutive split.", d("""\
                ```python
                def chunk(items, size):
                    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                        raise ValueError("size must be a positive integer")
                    return [items[i:i + size] for i in range(0, len(items), size)]
                ```
                The slice at the end simply returns whatever is left, so the last chunk can be shorter.""")),
            ("codellama-7b-instruct", 2, "Imports itertools although the instruction forbids imports, and never raises ValueError for a bad size.", d("""\
                ```python
                from itertools import islice

                def chunk(items, size):
                    it = iter(items)
                    return list(iter(lambda: list(islice(it, size)), []))
                ```""")),
            ("wizardlm-7b", 3, "Splits correctly and raises ValueError, but only checks `size <= 0`, so a float such as 2.5 slips through to a TypeError.", d("""\
                Here is the function:

                ```python
                def chunk(items, size):
                    if size <= 0:
                        raise ValueError("bad size")
                    result = []
                    for start in range(0, len(items), size):
                        result.append(items[start:start + size])
                    return result
                ```""")),
            ("llama-2-13b-chat", 1, "Returns a generator of pairs regardless of `size`, ignores the ValueError requirement and describes a different function.", d("""\
                Sure! Chunking is a great way to process data. Here's a helper that pairs items:

                ```python
                def chunk(items, size):
                    return zip(items[::2], items[1::2])
                ```
                This will give you pairs of elements from your list.""")),
        ],
    },
    {
        "preference": "instruction-following",
        "instruction": d("""\
            In JavaScript, write a function `debounce(fn, ms)` that returns a debounced version of
            `fn`. The returned function must also expose a `cancel()` method. Answer with code
            only, no prose."""),
        "answers": [
            ("deepseek-coder-6.7b-instruct", 5, "Code only, as asked; the debounced function forwards `this` and arguments and exposes a working `cancel()`.", d("""\
                ```javascript
                function debounce(fn, ms) {
                  let timer = null;
                  function debounced(...args) {
                    clearTimeout(timer);
                    timer = setTimeout(() => {
                      timer = null;
                      fn.apply(this, args);
                    }, ms);
                  }
                  debounced.cancel = () => {
                    clearTimeout(timer);
                    timer = null;
                  };
                  return debounced;
                }
                ```""")),
            ("gpt-3.5-turbo", 4, "Correct debounce with `cancel()`, but it adds two paragraphs of explanation although the user asked for code only.", d("""\
                A debounce delays calling a function until calls stop arriving for `ms` milliseconds.

                ```javascript
                function debounce(fn, ms) {
                  let id;
                  const wrapped = (...args) => {
                    clearTimeout(id);
                    id = setTimeout(() => fn(...args), ms);
                  };
                  wrapped.cancel = () => clearTimeout(id);
                  return wrapped;
                }
                ```
                Call `wrapped.cancel()` to drop a pending call, for example when a component unmounts.""")),
            ("mistral-7b-instruct", 2, "Implements throttling rather than debouncing and has no `cancel()` method.", d("""\
                ```javascript
                function debounce(fn, ms) {
                  let last = 0;
                  return (...args) => {
                    const now = Date.now();
                    if (now - last >= ms) {
                      last = now;
                      fn(...args);
                    }
                  };
                }
                ```""")),
            ("wizardcoder-15b", 3, "Debounces correctly and is code only, but `cancel` is exported as a separate function instead of a method of the returned function.", d("""\
                ```javascript
                let pending;
                function debounce(fn, ms) {
                  return (...args) => {
                    clearTimeout(pending);
                    pending = setTimeout(() => fn(...args), ms);
                  };
                }
                function cancel() {
                  clearTimeout(pending);
                }
                ```""")),
        ],
    },
    {
        "preference": "instruction-following",
        "instruction": d("""\
            Write a SQL query (PostgreSQL) that returns, for each customer, their three most
            recent orders from the `orders(id, customer_id, created_at, total)` table. Use a
            window function, not a correlated subquery."""),
        "answers": [
            ("gpt-4", 5, "Uses ROW_NUMBER() partitioned by customer and ordered by date, as required, and breaks ties on id so exactly three rows come back.", d("""\
                ```sql
                SELECT id, customer_id, created_at, total
                FROM (
                  SELECT o.*,
                         ROW_NUMBER() OVER (PARTITION BY customer_id
                                            ORDER BY created_at DESC, id DESC) AS rn
                  FROM orders o
                ) ranked
                WHERE rn <= 3
                ORDER BY customer_id, created_at DESC;
                ```""")),
            ("codellama-13b-instruct", 2, "Uses a correlated subquery, which the instruction explicitly rules out.", d("""\
                ```sql
                SELECT *
                FROM orders o
                WHERE (SELECT COUNT(*) FROM orders o2
                       WHERE o2.customer_id = o.customer_id
                         AND o2.created_at > o.created_at) < 3;
                ```""")),
            ("wizardcoder-33b", 4, "Uses a window function as asked, but RANK() can return more than three rows when orders share a timestamp.", d("""\
                ```sql
                WITH ranked AS (
                  SELECT *, RANK() OVER (PARTITION BY customer_id ORDER BY created_at DESC) AS r
                  FROM orders
                )
                SELECT id, customer_id, created_at, total FROM ranked WHERE r <= 3;
                ```""")),
            ("llama-2-70b-chat", None, "", d("""\
                To get recent orders you could use LIMIT:

                ```sql
                SELECT * FROM orders ORDER BY created_at DESC LIMIT 3;
                ```
                You can also add a WHERE clause for a specific customer.""")),
        ],
    },
    {
        "preference": "instruction-following",
        "instruction": d("""\
            Write a Bash script that takes a directory as its only argument and prints the five
            largest files under it (recursively), largest first, as `SIZE PATH` with
            human-readable sizes. Exit with status 2 and a usage message if the argument is
            missing or is not a directory."""),
        "answers": [
            ("gpt-3.5-turbo", 4, "Correct listing and usage check with exit status 2; sizes come from `du -h`, which reports disk usage rather than file size, a small deviation.", d("""\
                ```bash
                #!/usr/bin/env bash
                if [ $# -ne 1 ] || [ ! -d "$1" ]; then
                  echo "usage: $0 DIRECTORY" >&2
                  exit 2
                fi
                find "$1" -type f -exec du -h {} + | sort -rh | head -n 5
                ```""")),
            ("deepseek-coder-33b-instruct", 5, "Every requirement is met: argument checks with status 2, recursive search, apparent file sizes, largest first, human-readable output, and paths with spaces handled.", d("""\
                ```bash
                #!/usr/bin/env bash
                set -euo pipefail
                if [[ $# -ne 1 || ! -d $1 ]]; then
                  echo "usage: ${0##*/} DIRECTORY" >&2
                  exit 2
                fi
                find "$1" -type f -printf '%s\\t%p\\0' \\
                  | sort -z -t $'\\t' -k1,1nr \\
                  | head -z -n 5 \\
                  | while IFS=$'\\t' read -r -d '' size path; do
                      printf '%s %s\\n' "$(numfmt --to=iec "$size")" "$path"
                    done
                ```""")),
            ("codellama-34b-instruct", 3, "Lists the largest files, but exits with status 1 instead of 2 and does not check that the argument is a directory.", d("""\
                ```bash
                #!/bin/bash
                [ -z "$1" ] && { echo "usage: $0 dir"; exit 1; }
                ls -lRS "$1" | grep '^-' | head -5 | awk '{print $5, $9}'
                ```""")),
            ("wizardlm-33b", 2, "Prints the five largest directories, not files, and has no usage message or exit status handling.", d("""\
                You can use this:

                ```bash
                du -sh "$1"/* | sort -rh | head -5
                ```""")),
        ],
    },
    {
        "preference": "instruction-following",
        "instruction": d("""\
            Write a Rust function `fn parse_kv(line: &str) -> Option<(&str, &str)>` that splits a
            line of the form `key = value` around the first `=`, trimming whitespace from both
            parts. Return None if there is no `=` or the key is empty. Do not allocate."""),
        "answers": [
            ("gpt-4", 5, "Exact signature, splits on the first `=`, trims both sides, rejects an empty key, and borrows from the input without allocating.", d("""\
                ```rust
                fn parse_kv(line: &str) -> Option<(&str, &str)> {
                    let (key, value) = line.split_once('=')?;
                    let key = key.trim();
                    if key.is_empty() {
                        return None;
                    }
                    Some((key, value.trim()))
                }
                ```""")),
            ("mistral-7b-instruct", 2, "Returns owned Strings, which changes the signature and allocates, against both constraints.", d("""\
                ```rust
                fn parse_kv(line: &str) -> Option<(String, String)> {
                    let parts: Vec<&str> = line.split('=').collect();
                    if parts.len() < 2 {
                        return None;
                    }
                    Some((parts[0].trim().to_string(), parts[1].trim().to_string()))
                }
                ```""")),
            ("deepseek-coder-6.7b-instruct", 4, "Correct and allocation-free, but it accepts an empty key, missing one stated condition.", d("""\
                ```rust
                fn parse_kv(line: &str) -> Option<(&str, &str)> {
                    let idx = line.find('=')?;
                    Some((line[..idx].trim(), line[idx + 1..].trim()))
                }
                ```""")),
            ("wizardcoder-15b", 3, "Meets the signature and checks the key, but splits on the last `=` with rsplit_once, so values containing `=` are cut wrongly.", d("""\
                ```rust
                fn parse_kv(line: &str) -> Option<(&str, &str)> {
                    match line.rsplit_once('=') {
                        Some((k, v)) if !k.trim().is_empty() => Some((k.trim(), v.trim())),
                        _ => None,
                    }
                }
                ```""")),
        ],
    },
    {
        "preference": "instruction-following",
        "instruction": d("""\
            Write a Go function `Retry(attempts int, wait time.Duration, op func() error) error`
            that calls `op` until it succeeds or `attempts` calls have failed, sleeping `wait`
            between calls and doubling `wait` after each failure. Return the last error wrapped
            with the number of attempts."""),
        "answers": [
            ("gpt-3.5-turbo", 5, "Doubles the wait, stops after the given attempts, does not sleep after the final failure, and wraps the last error with %w and the count.", d("""\
                ```go
                func Retry(attempts int, wait time.Duration, op func() error) error {
                	var err error
                	for i := 1; i <= attempts; i++ {
                		if err = op(); err == nil {
                			return nil
                		}
                		if i < attempts {
                			time.Sleep(wait)
                			wait *= 2
                		}
                	}
                	return fmt.Errorf("after %d attempts: %w", attempts, err)
                }
                ```""")),
            ("codellama-7b-instruct", 3, "Retries and sleeps, but the wait never doubles and the last error is returned unwrapped.", d("""\
                ```go
                func Retry(attempts int, wait time.Duration, op func() error) error {
                	var err error
                	for i := 0; i < attempts; i++ {
                		err = op()
                		if err == nil {
                			return nil
                		}
                		time.Sleep(wait)
                	}
                	return err
                }
                ```""")),
            ("llama-2-13b-chat", 1, "Not Go: the answer is Python, and it ignores the requested signature.", d("""\
                Here's a retry decorator:

                ```python
                def retry(times):
                    def wrap(f):
                        def inner(*a):
                            for _ in range(times):
                                try:
                                    return f(*a)
                                except Exception:
                                    pass
                        return inner
                    return wrap
                ```""")),
            ("wizardcoder-33b", 4, "Follows the signature and doubles the wait, but wraps the error with %v, losing errors.Is compatibility the word 'wrapped' implies.", d("""\
                ```go
                func Retry(attempts int, wait time.Duration, op func() error) error {
                	var last error
                	for n := 0; n < attempts; n++ {
                		if last = op(); last == nil {
                			return nil
                		}
                		time.Sleep(wait)
                		wait = wait * 2
                	}
                	return fmt.Errorf("failed %d times: %v", attempts, last)
                }
                ```""")),
        ],
    },
    # ---------------------------------------------------------------------------- explanation
    {
        "preference": "explanation",
        "instruction": d("""\
            Explain what this Python code does and why it works:

            ```python
            def f(n):
                return n > 0 and (n & (n - 1)) == 0
            ```"""),
        "answers": [
            ("gpt-4", 5, "Explains the bit trick step by step with an example, why powers of two have one set bit, and why the `n > 0` guard matters for zero and negatives.", d("""\
                `f` tells whether `n` is a power of two.

                A power of two has exactly one bit set: 8 is `1000`. Subtracting one flips that
                bit and sets every bit below it: 7 is `0111`. So `n & (n - 1)` clears the lowest
                set bit; the result is zero exactly when there was only one set bit to clear.

                The `n > 0` check matters because `0 & -1` is also zero, and negative numbers in
                Python's infinite two's complement would give wrong answers. With the guard,
                `f(1)`, `f(2)`, `f(1024)` are True, and `f(0)`, `f(6)`, `f(-8)` are False.""")),
            ("wizardlm-7b", 2, "States the purpose but gives no reason why the expression works and says nothing about the guard.", d("""\
                This function checks if a number is a power of 2. It uses bitwise AND. It returns
                True or False.""")),
            ("codellama-13b-instruct", 3, "Correctly describes clearing the lowest set bit, but misexplains the guard as a performance shortcut.", d("""\
                The expression `n & (n - 1)` removes the lowest 1 bit of `n`. If nothing is left
                the number had a single 1 bit, which means it is a power of two. The `n > 0` part
                is there so the function returns early for small numbers and runs faster.""")),
            ("mistral-7b-instruct", 4, "A clear explanation with a worked example; it does not mention negative inputs, only zero.", d("""\
                It checks for powers of two. Take n = 16 (`10000`); n - 1 = 15 (`01111`). They share
                no bits, so the AND is 0 and the function says True. For n = 12 (`1100`),
                n - 1 = 11 (`1011`), the AND is `1000`, not zero, so False. The `n > 0` part
                excludes 0, for which the AND would also be zero.""")),
        ],
    },
    {
        "preference": "explanation",
        "instruction": d("""\
            Write a JavaScript function that deep-clones plain objects and arrays (no cycles), and
            explain each design decision in comments."""),
        "answers": [
            ("deepseek-coder-33b-instruct", 4, "Sound code whose comments explain each branch and why structuredClone is not used; it could say more about what happens to Dates.", d("""\
                ```javascript
                // Copies plain objects and arrays recursively. Other values (numbers, strings,
                // functions, Dates) are returned as they are: the task only asks for plain data,
                // and copying class instances correctly needs knowledge of their constructors.
                function deepClone(value) {
                  // Arrays first: typeof [] is also "object".
                  if (Array.isArray(value)) {
                    return value.map(deepClone);
                  }
                  // null is typeof "object" too, so exclude it before reading keys.
                  if (value !== null && typeof value === "object") {
                    const copy = {};
                    // Object.keys skips inherited properties, which a plain clone should not copy.
                    for (const key of Object.keys(value)) {
                      copy[key] = deepClone(value[key]);
                    }
                    return copy;
                  }
                  return value;
                }
                ```""")),
            ("gpt-3.5-turbo", 5, "Each decision is explained (arrays before objects, the null check, own keys only, why recursion is safe without cycles) and the trade-off against JSON round-tripping is stated.", d("""\
                ```javascript
                /**
                 * Deep-clones plain objects and arrays.
                 *
                 * Why not JSON.parse(JSON.stringify(x))? It drops undefined values and turns
                 * NaN into null; walking the value keeps those intact.
                 */
                function deepClone(value) {
                  // Primitives and null are immutable, so they can be shared as they are.
                  if (value === null || typeof value !== "object") return value;
                  // Arrays keep their length and order; map builds a new array for us.
                  if (Array.isArray(value)) return value.map(deepClone);
                  // Only own enumerable keys: a plain object's prototype is Object.prototype,
                  // which the copy gets anyway from the object literal.
                  const out = {};
                  for (const [k, v] of Object.entries(value)) out[k] = deepClone(v);
                  // Recursion is safe because the input is promised to have no cycles.
                  return out;
                }
                ```""")),
            ("wizardcoder-15b", 2, "Uses JSON round-tripping with a one-line comment that explains nothing about its limits.", d("""\
                ```javascript
                // clone
                const deepClone = (o) => JSON.parse(JSON.stringify(o));
                ```""")),
            ("llama-2-70b-chat", 3, "Correct code, but the explanation is a generic paragraph after the code rather than comments tied to decisions.", d("""\
                ```javascript
                function deepClone(obj) {
                  if (typeof obj !== "object" || obj === null) return obj;
                  const result = Array.isArray(obj) ? [] : {};
                  for (const key in obj) {
                    result[key] = deepClone(obj[key]);
                  }
                  return result;
                }
                ```
                This function goes through each property and copies it. It works for nested data.""")),
        ],
    },
    {
        "preference": "explanation",
        "instruction": d("""\
            Explain the difference between `INNER JOIN` and `LEFT JOIN` in SQL using a small
            example with two tables, and show the output of each."""),
        "answers": [
            ("gpt-4", 5, "Small concrete tables, both queries, both result sets, and a precise statement of which rows each join keeps and why NULLs appear.", d("""\
                Two tables:

                | authors.id | name  |        | books.author_id | title        |
                |-----------:|-------|--------|----------------:|--------------|
                | 1          | Ada   |        | 1               | Notes        |
                | 2          | Grace |        | 1               | Sketches     |

                ```sql
                SELECT a.name, b.title FROM authors a INNER JOIN books b ON b.author_id = a.id;
                ```
                gives `Ada, Notes` and `Ada, Sketches`: only pairs that match the condition.

                ```sql
                SELECT a.name, b.title FROM authors a LEFT JOIN books b ON b.author_id = a.id;
                ```
                gives the same two rows plus `Grace, NULL`: every row of the left table is kept,
                and where no book matches, the book columns are filled with NULL.""")),
            ("codellama-7b-instruct", 3, "The definitions are right, but the promised output of each query is missing.", d("""\
                INNER JOIN returns rows that match in both tables. LEFT JOIN returns all rows from
                the left table and the matching rows from the right table.

                ```sql
                SELECT * FROM employees e INNER JOIN departments d ON e.dept_id = d.id;
                SELECT * FROM employees e LEFT JOIN departments d ON e.dept_id = d.id;
                ```""")),
            ("wizardlm-33b", 4, "A clear example with outputs; it says LEFT JOIN 'adds empty rows', which is imprecise about NULL-filled columns.", d("""\
                Tables: `users(id, name)` = (1, Kim), (2, Lee); `logins(user_id, at)` = (1, Monday).

                INNER JOIN on users.id = logins.user_id: `Kim | Monday`. Lee has no login, so
                Lee disappears.

                LEFT JOIN on the same condition: `Kim | Monday` and `Lee | (empty)`. The left
                join keeps all users and adds empty rows where nothing matched.""")),
            ("deepseek-coder-6.7b-instruct", 2, "Confuses LEFT JOIN with a cross join in the example output.", d("""\
                LEFT JOIN returns every combination of rows from the left table with the right
                table, while INNER JOIN returns only the matching ones. For users (Kim, Lee) and
                logins (Monday), LEFT JOIN gives Kim-Monday and Lee-Monday.""")),
        ],
    },
    {
        "preference": "explanation",
        "instruction": d("""\
            I keep getting "borrowed value does not live long enough" in Rust when I return a
            reference to a local `String` from a function. Explain why and show two ways to fix
            it."""),
        "answers": [
            ("mistral-7b-instruct", 4, "Explains ownership and the dangling reference clearly with two valid fixes; the lifetime-parameter fix is described a bit vaguely.", d("""\
                A local `String` is dropped when the function returns. A reference to it would
                point at freed memory, so the borrow checker refuses to let the reference outlive
                the value.

                Fix 1, return the owned value:
                ```rust
                fn greeting(name: &str) -> String {
                    format!("hello, {name}")
                }
                ```
                Fix 2, borrow from something the caller owns, so its lifetime covers the result:
                ```rust
                fn first_word(text: &str) -> &str {
                    text.split_whitespace().next().unwrap_or("")
                }
                ```""")),
            ("gpt-3.5-turbo", 5, "Explains where the String is dropped, why the reference would dangle, and gives two fixes with the reasoning behind each, including when to choose which.", d("""\
                In
                ```rust
                fn make() -> &str {
                    let s = String::from("hi");
                    &s
                }
                ```
                `s` owns its heap buffer and is dropped at the closing brace. The returned `&s`
                would outlive the buffer, a dangling pointer, which is exactly what lifetimes
                exist to prevent.

                1. **Return ownership**: `fn make() -> String { String::from("hi") }`. The caller
                   now owns the buffer. Use this when the function creates the data.
                2. **Borrow from an input**: `fn pick<'a>(items: &'a [String]) -> &'a str { &items[0] }`.
                   The result lives as long as the caller's data. Use this when the function
                   only selects part of what it was given.""")),
            ("codellama-34b-instruct", 2, "Suggests `'static` and `Box::leak` without explaining the cause, and the leak is a poor default fix.", d("""\
                Add `'static` to the return type, or use `Box::leak(s.into_boxed_str())` to make
                the string live forever.""")),
            ("wizardcoder-33b", 3, "Gives the right cause in one sentence and one fix only, although two were asked for.", d("""\
                The String is destroyed at the end of the function, so the reference would be
                invalid. Return a `String` instead of `&str`:
                ```rust
                fn make() -> String { "hi".to_string() }
                ```""")),
        ],
    },
    {
        "preference": "explanation",
        "instruction": d("""\
            Explain what Python's Global Interpreter Lock is and when it makes threads useless,
            with a short code example of a case where threads still help."""),
        "answers": [
            ("gpt-4", 5, "Accurate account of the GIL, why CPU-bound threads don't speed up, why I/O-bound threads do, and a fitting example with the reason it helps.", d("""\
                CPython lets one thread execute Python bytecode at a time; the GIL is the lock
                that enforces this. Two threads doing pure-Python arithmetic therefore take turns
                and finish no sooner than one thread would.

                The lock is released while a thread waits on I/O (sockets, files, `time.sleep`)
                and inside many C extensions. So threads help when the work is mostly waiting:

                ```python
                from concurrent.futures import ThreadPoolExecutor
                import urllib.request

                def fetch(url):
                    with urllib.request.urlopen(url, timeout=10) as r:
                        return len(r.read())

                with ThreadPoolExecutor(max_workers=8) as pool:
                    sizes = list(pool.map(fetch, urls))
                ```
                Eight downloads wait in parallel, so the total time is near the slowest one,
                not the sum. For CPU-bound work use processes (`ProcessPoolExecutor`).""")),
            ("llama-2-13b-chat", 2, "Claims the GIL prevents all parallelism including I/O, which is wrong, and the example does not show a case where threads help.", d("""\
                The GIL is a lock that makes Python single-threaded. Because of it, threads never
                run at the same time, so you should always use multiprocessing instead.

                ```python
                import threading
                t = threading.Thread(target=print, args=("hi",))
                t.start()
                ```""")),
            ("deepseek-coder-33b-instruct", 4, "Correct explanation and a good example; it omits that C extensions can release the GIL.", d("""\
                The GIL allows only one thread to run Python code at once, so CPU-heavy loops do
                not get faster with threads. Waiting for the network or disk releases the GIL, so
                threads overlap those waits:

                ```python
                import threading, time

                def wait_for_io():
                    time.sleep(1)  # stands in for a network call

                threads = [threading.Thread(target=wait_for_io) for _ in range(5)]
                for t in threads: t.start()
                for t in threads: t.join()   # about 1 second in total, not 5
                ```""")),
            ("wizardlm-7b", None, "", d("""\
                The Global Interpreter Lock (GIL) is a mutex in CPython. It can make threads
                useless for CPU work. Threads are still useful for I/O like reading files.""")),
        ],
    },
    {
        "preference": "explanation",
        "instruction": d("""\
            Explain this Go snippet, including why the program might print fewer than 10 lines
            and how to fix it:

            ```go
            for i := 0; i < 10; i++ {
                go fmt.Println(i)
            }
            ```"""),
        "answers": [
            ("gpt-3.5-turbo", 4, "Explains that main may exit before goroutines run and fixes it with a WaitGroup; it does not mention that the order is not guaranteed either.", d("""\
                Each iteration starts a goroutine that prints `i`. When `main` returns the
                program exits, even if goroutines have not run yet, so some numbers may never
                print. Wait for them:

                ```go
                var wg sync.WaitGroup
                for i := 0; i < 10; i++ {
                    wg.Add(1)
                    go func(n int) {
                        defer wg.Done()
                        fmt.Println(n)
                    }(i)
                }
                wg.Wait()
                ```""")),
            ("codellama-13b-instruct", 2, "Blames the loop variable capture, which does not apply here because `i` is evaluated when the go statement runs, and misses the real cause.", d("""\
                All goroutines share the same `i`, so they print 10 ten times. Copy the variable
                with `i := i` inside the loop.""")),
            ("gpt-4", 5, "Covers both effects (early exit of main, unspecified order), why the arguments are evaluated at once, and gives an idiomatic WaitGroup fix.", d("""\
                `go fmt.Println(i)` evaluates `i` immediately and schedules `Println` on a new
                goroutine, so each goroutine gets its own value; capture is not the problem.

                Two things are: the scheduler may not run the goroutines before `main` returns,
                and when `main` returns the process exits, so some lines are lost; and the lines
                that do print come in any order.

                Wait for all of them with a `sync.WaitGroup` (Add before `go`, Done in each
                goroutine, Wait at the end). If the output must be in order, don't use
                goroutines for it, or send results over a channel and sort them.""")),
            ("mistral-7b-instruct", 3, "Names the early-exit problem but suggests `time.Sleep` as the fix, which only hides the race.", d("""\
                The main function ends before the goroutines finish. Add
                `time.Sleep(time.Second)` after the loop so they have time to print.""")),
        ],
    },
]
