#!/usr/bin/python3
"""DKT training throughput in Python torch: the Python side of tests/bench/dkt_throughput.sh.

Trains the same model as cartable's `dkt` (models/dkt_model.cpp) on the same "pupil,skill,correct"
file: each pupil's answers cut into windows of at most --max-length answers; input at step t an
embedding of the previous answer (0 at a window's start, else 1 + 2*skill + correct); one LSTM
layer of --hidden-size; a logit per skill read at the current skill; masked binary cross-entropy;
Adam. Windows are shuffled and padded into batches of --batch-size, trimmed to the batch's longest
window, as cartable does.

--output full computes all K logits and gathers the current skill's (the usual way, e.g. in pyKT);
--output gathered multiplies by the current skill's output row only, as cartable does. Same
function.
Prints the median epoch time (wall and process CPU) over epochs 2.. and sequences per second.
"""
import argparse
import csv
import statistics
import time

import torch


def read_windows(path, max_length):
    """Returns padded [windows, length] tensors: token, skill, label, mask, and the window sizes."""
    pupils = []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        last = None
        for pupil, skill, correct in reader:
            if pupil != last:
                pupils.append([])
                last = pupil
            pupils[-1].append((int(skill), int(correct)))
    windows = [p[i:i + max_length] for p in pupils for i in range(0, len(p), max_length)]
    num_skills = 1 + max(s for p in pupils for s, _ in p)
    length = max(len(w) for w in windows)
    skill = torch.zeros(len(windows), length, dtype=torch.long)
    correct = torch.zeros(len(windows), length, dtype=torch.long)
    mask = torch.zeros(len(windows), length)
    for i, w in enumerate(windows):
        skill[i, :len(w)] = torch.tensor([s for s, _ in w])
        correct[i, :len(w)] = torch.tensor([c for _, c in w])
        mask[i, :len(w)] = 1
    answer = 1 + 2 * skill + correct
    token = torch.cat([torch.zeros(len(windows), 1, dtype=torch.long), answer[:, :-1]], dim=1)
    sizes = torch.tensor([len(w) for w in windows])
    return token, skill, correct.float(), mask, sizes, num_skills


class Dkt(torch.nn.Module):
    def __init__(self, num_skills, hidden_size, gathered):
        super().__init__()
        self.embedding = torch.nn.Embedding(2 * num_skills + 1, hidden_size)
        self.lstm = torch.nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.output = torch.nn.Linear(hidden_size, num_skills)
        self.gathered = gathered

    def forward(self, token, skill):
        h, _ = self.lstm(self.embedding(token))
        if self.gathered:
            weight = torch.nn.functional.embedding(skill, self.output.weight)
            return (h * weight).sum(2) + self.output.bias[skill]
        return self.output(h).gather(2, skill.unsqueeze(2)).squeeze(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--output", choices=["full", "gathered"], default="full")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    token, skill, label, mask, sizes, num_skills = read_windows(args.data, args.max_length)
    model = Dkt(num_skills, args.hidden_size, args.output == "gathered")
    optimiser = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    windows = token.size(0)
    # CPU time too: with one thread, less disturbed than wall time by a shared machine's load.
    seconds, cpu_seconds = [], []
    for _ in range(args.epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(windows)
        loss_sum = 0.0
        for first in range(0, windows, args.batch_size):
            rows = order[first:first + args.batch_size]
            length = int(sizes[rows].max())
            take = lambda t: t.index_select(0, rows)[:, :length]
            batch_mask = take(mask)
            loss_total = torch.nn.functional.binary_cross_entropy_with_logits(
                model(take(token), take(skill)), take(label), weight=batch_mask, reduction="sum")
            optimiser.zero_grad()
            (loss_total / batch_mask.sum()).backward()
            optimiser.step()
            loss_sum += loss_total.item()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - start_cpu)
    steady = lambda s: statistics.median(s[1:] if len(s) > 1 else s)
    wall, cpu = steady(seconds), steady(cpu_seconds)
    print(f"python ({args.output}): {windows} sequences/epoch, "
          f"median epoch {wall:.3f} s wall {cpu:.3f} s cpu, "
          f"{windows / wall:.1f} sequences/s wall, {windows / cpu:.1f} sequences/s cpu, "
          f"final loss {loss_sum / float(mask.sum()):.4f}")


if __name__ == "__main__":
    main()
