# Independent breadth-first search of the `tailcall-poke` semantics that
# bench/spin/tailcall-poke.pml implements (same step list, written separately,
# no SPIN). Used to check that pan's "states, stored" is exactly the number of
# reachable states and pan's "transitions" is edges + 1.
#   python3 bench/spin/reference-bfs.py v5.10 3   ->  v5.10 3 states 7362 edges 28073 violated []
# Protocols: v5.10 rfc no-sync bypass-first. Prints the properties violated
# somewhere in the reachable space.
import sys
from collections import deque
proto, N = sys.argv[1], int(sys.argv[2])
JO, PN = 0, 1  # P: jmp out, nop
IDLE,BYP,UNW,TGT,FELL = 0,1,2,3,4
LIVE,DYING,FREED=0,1,2
def readers(q): return sum(1<<i for i,x in enumerate(q) if x!=IDLE)
# updater ops: ('xchg',k) ('poke',site,X,Y) ('pokeu',site,Y) ('put',j) ('rmP',) special ('ss',) ('sw',)
def install(k):
    if proto=='rfc': return [('xchg',k),('pokeu','T',k),('pokeu','P',PN)]
    if proto=='bypass-first': return [('xchg',k),('poke','P',JO,PN),('poke','T',0,k)]
    return [('xchg',k),('poke','T',0,k),('poke','P',JO,PN)]
def update(j,k):
    if proto=='rfc': return [('xchg',k),('pokeu','T',k),('put',j)]
    return [('xchg',k),('poke','T',j,k),('put',j)]
def remove(j):
    if proto=='rfc': return [('xchg',0),('pokeu','P',JO),('put',j)]
    if proto=='no-sync': return [('xchg',0),('poke','P',PN,JO),('poke','T',j,0),('put',j)]
    return [('xchg',0),('pokesync','P',PN,JO),('ss',),('sw',),('poke','T',j,0),('put',j)]
ops = install(1)+update(1,2)+remove(2)+install(3)
DONE=len(ops)
# state: (slot,P,T,ebusy,life,dying,sync,q,pc)
init=(0,JO,0,0,(0,0,0),(0,0,0),0,(0,)*N,0)
def leave(s,i):
    slot,P,T,eb,life,dying,sync,q,pc=s
    m=~(1<<i)
    q=list(q); q[i]=IDLE
    return (slot,P,T,eb,life,tuple(d&m for d in dying),sync&m,tuple(q),pc)
def succ(s):
    slot,P,T,eb,life,dying,sync,q,pc=s
    out=[]
    for i,x in enumerate(q):
        def setq(v):
            qq=list(q); qq[i]=v; return (slot,P,T,eb,life,dying,sync,tuple(qq),pc)
        if x==IDLE: out.append(setq(BYP))
        elif x==BYP: out.append(leave(s,i) if P==JO else setq(UNW))
        elif x==UNW: out.append(setq(TGT))
        elif x==TGT: out.append(setq(FELL) if T==0 else setq(4+T))
        elif x>4: out.append(leave(s,i))
    for k in range(3):
        if life[k]==DYING and dying[k]==0:
            l=list(life); l[k]=FREED
            out.append((slot,P,T,eb,tuple(l),dying,sync,q,pc))
    if pc<DONE:
        op=ops[pc]
        sites={'P':P,'T':T}
        def mk(**kw):
            d=dict(slot=slot,P=P,T=T,eb=eb,life=life,dying=dying,sync=sync,q=q,pc=pc+1); d.update(kw)
            return (d['slot'],d['P'],d['T'],d['eb'],d['life'],d['dying'],d['sync'],d['q'],d['pc'])
        if op[0]=='xchg': out.append(mk(slot=op[1]))
        elif op[0]=='pokeu': out.append(mk(**{op[1]:op[2]}))
        elif op[0] in ('poke','pokesync'):
            _,site,X,Y=op; v=sites[site]
            if v==Y: out.append(mk(pc=pc+3) if op[0]=='pokesync' else mk())
            elif v==X: out.append(mk(**{site:Y}))
            else: out.append(mk(eb=1,pc=DONE))
        elif op[0]=='ss': out.append(mk(sync=readers(q)))
        elif op[0]=='sw':
            if sync==0: out.append(mk())
        elif op[0]=='put':
            j=op[1]-1; l=list(life); l[j]=DYING; d=list(dying); d[j]=readers(q)
            out.append(mk(life=tuple(l),dying=tuple(d)))
    return out
def viol(s):
    slot,P,T,eb,life,dying,sync,q,pc=s
    v=[]
    if FELL in q: v.append('P1')
    if any(x>4 and life[x-5]==FREED for x in q): v.append('P2')
    if P==PN and T==0: v.append('P3')
    if eb: v.append('P4')
    return v
seen={init}; dq=deque([init]); edges=0; vs=set()
while dq:
    s=dq.popleft()
    vs.update(viol(s))
    for t in succ(s):
        edges+=1
        if t not in seen: seen.add(t); dq.append(t)
print(proto,N,'states',len(seen),'edges',edges,'violated',sorted(vs))
